"""Small helpers shared by every part of steve1: safe unpickling, atomic writes, checksums, state-dict
checks, frame resizing and video decoding."""
