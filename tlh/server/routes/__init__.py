"""tlh.server.routes."""
