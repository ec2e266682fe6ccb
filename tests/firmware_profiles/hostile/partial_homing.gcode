; hostile: homes X and Y, then moves Z
; expect: move-before-homing @ 8
; profile: generic-220
; material: PLA
G90
M82
G28 X Y
G1 Z10 F600
