"""Provider adapters: one module per provider kind beside a shared base."""
