# The demo's own code: a week of queue traffic on the demo PBX (demo/axivox_demo.xml).
