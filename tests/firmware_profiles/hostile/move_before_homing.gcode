; hostile: moves before G28
; expect: move-before-homing @ 9
; profile: generic-220
; material: PLA
G90
M82
M104 S210
M109 S210
G1 X10 Y10 F6000
