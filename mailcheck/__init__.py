"""mailcheck: diagnose the path an email takes, stage by stage."""

__version__ = "0.1.0"
