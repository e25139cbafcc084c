"""python -m worker.sim --host 127.0.0.1 --port 8900 --merchants providers.toml"""

from worker.sim.server import main

main()
