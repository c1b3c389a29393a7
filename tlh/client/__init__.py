"""tlh.client."""
