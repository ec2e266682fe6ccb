; hostile: switches a pin (a heater MOSFET) directly
; expect: blocked-command @ 15
; profile: generic-220
; material: PLA
G90
M82
G28
M140 S60
M104 S210
M190 S60
M109 S210
G92 E0
G1 Z0.2 F3000
G1 X20 Y20 F6000
M42 P4 S255
