"""tlh.cli.commands."""
