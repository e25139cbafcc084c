"""python -m resolver_tools.sim --host 127.0.0.1 --port 8900 --merchants providers.toml"""

from resolver_tools.sim.server import main

main()
