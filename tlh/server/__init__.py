"""tlh.server."""
