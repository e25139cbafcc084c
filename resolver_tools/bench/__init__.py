"""`resolver bench`: the resolver against naive Celery and the bare limit, on the same data.

One concept per module: `workload` (the generated transfers, loaded alike for every contender),
`contenders` (how each is started, set going and stopped), `naive` and `bare` (the two
comparison designs, each run in processes of its own), `statements` (the SQL counter inside
those processes), `measure` (CPU, memory and the figures of one run), `report` (JSON, Markdown,
plot) and `run` (rounds, alternation, progress).
"""
