"""tlh: self-hosted telehealth for therapy and behavioural-health practices."""

__version__ = "0.1.0"
