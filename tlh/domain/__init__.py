"""Pure rules over plain models: no I/O, no clock (``now`` is always passed in)."""
