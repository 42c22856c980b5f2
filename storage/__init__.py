"""SQLite persistence for AI News Watcher, behind the :class:`Store` protocol."""

from storage.errors import DatabaseUnavailableError, MigrationError, NotFoundError, StorageError
from storage.interface import Store

__all__ = [
    "DatabaseUnavailableError",
    "MigrationError",
    "NotFoundError",
    "StorageError",
    "Store",
]
