"""A simulator of the five providers' transfer status APIs, for tests, the demo and benchmarks.

It serves every provider endpoint on one port exactly as the providers document them, checks
what a real provider checks (signature or token, timestamp window, credentials, content type)
and answers each transaction from a script loaded through the control API under /_sim/.

    from resolver_tools.sim import running_simulator
    with running_simulator() as base_url: ...

See `control` for the control API, `script` for the answers a script can give, and each module
of `providers` for what that provider checks and the codes the simulator chose where the
provider publishes none.
"""

from resolver_tools.sim.app import SimulatorApp, create_app
from resolver_tools.sim.server import running_simulator, serve
from resolver_tools.sim.simulator import Simulator

__all__ = ["Simulator", "SimulatorApp", "create_app", "running_simulator", "serve"]
