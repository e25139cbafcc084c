"""The chaos drill (`resolver chaos`): a complete system of its own under faults, then a check
that every invariant held. One concept a module: services (the throwaway PostgreSQL and
Redis), system (the processes and the faults done to them), scenario (transfers, scripts,
expected states), faults (the schedule), intake (the acknowledged wallet loop), verify (the
invariants), report (the table), run (the whole drill)."""
