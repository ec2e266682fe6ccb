; hostile: extrudes before any heating
; expect: cold-extrusion @ 10
; profile: generic-220
; material: PLA
G90
M82
G28
G1 Z0.2 F3000
G1 X20 Y20 F6000
G1 X60 Y20 E3 F1200
