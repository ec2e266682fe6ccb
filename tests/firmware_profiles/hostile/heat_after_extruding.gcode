; hostile: heats only after the first extrusion
; expect: cold-extrusion @ 10
; profile: generic-220
; material: PLA
G90
M82
G28
G1 Z0.2 F3000
G1 X20 Y20 F6000
G1 X60 Y20 E3 F1200
M109 S210
G1 X60 Y60 E6
