"""Batching, plate packing, assignment and balancing: a farm instance in, a plan out.

    from scheduler import plan, PlanInstance, Plan
    result: Plan = plan(instance, previous=None, seed=0)

Pure: no I/O, no clock (`instance.now` is the present), randomness only from `seed`.
The instance and plan models live in `protocol.planning` (they are a file and wire format).
"""

from protocol.planning import Plan, PlanInstance
from scheduler.planner import plan

PlanInput = PlanInstance

__all__ = ["Plan", "PlanInput", "PlanInstance", "plan"]
