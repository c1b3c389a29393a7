"""tlh.cli."""
