"""`resolver demo`: the whole service against the simulator, on this machine, in a minute."""
