"""AI News Watcher: the service around the ``rules`` engine and ``storage``."""

__version__ = "0.1.0"
