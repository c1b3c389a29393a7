"""Use cases: load from the store, ask the domain, write back, audit, publish."""
