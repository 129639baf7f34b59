"""The licensing simulator: CSSM cloud, SSM On-Prem and Secure Workload clusters in one world.

See docs/simulator.md. Every fact the simulator had to invent lives in ``choices``.
"""

from smartlicensing.testing.sim.simulator import SimClock, Simulator, serve
from smartlicensing.testing.sim.world import World
from smartlicensing.testing.sim.worldfile import WorldFileError, WorldSpec, parse_world

__all__ = ["SimClock", "Simulator", "World", "WorldFileError", "WorldSpec", "parse_world", "serve"]
