"""A simulator of the five providers' transfer status APIs, for tests, the demo and benchmarks.

It serves every provider endpoint on one port exactly as the providers document them, checks
what a real provider checks (signature or token, timestamp window, credentials, content type)
and answers each transaction from a script loaded through the control API under /_sim/.

    from worker.sim import running_simulator
    with running_simulator() as base_url: ...

See `control` for the control API, `script` for the answers a script can give, and each module
of `providers` for what that provider checks and the codes the simulator chose where the
provider publishes none.
"""

from worker.sim.app import SimulatorApp, create_app
from worker.sim.server import running_simulator, serve
from worker.sim.simulator import Simulator

__all__ = ["Simulator", "SimulatorApp", "create_app", "running_simulator", "serve"]
