; hostile: RepRapFirmware standby temperature 280 °C
; expect: hotend-above-material-max @ 15, hotend-above-printer-max @ 15
; profile: generic-220-rrf
; material: PLA
G90
M82
G28
M140 S60
G10 P0 S210 R180
T0
M116
G92 E0
G1 Z0.2 F3000
G1 X20 Y20 F6000
G10 P0 S210 R280
