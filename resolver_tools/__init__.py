"""Tools beside the service, not part of it: the providers' simulator (sim), the demo, the
benchmarks (bench) and the chaos drill (chaos). Each adds its command to `resolver` through the
`resolver.commands` entry points; the service's package imports none of them."""
