"""One module per part of the mail path. Each has ``probe`` (I/O) and ``evaluate`` (pure)."""
