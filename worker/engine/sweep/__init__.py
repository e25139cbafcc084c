"""The sweep: what is due, claimed under a lease, a batch per instance (due)."""
