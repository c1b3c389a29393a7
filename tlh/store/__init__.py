"""tlh.store."""
