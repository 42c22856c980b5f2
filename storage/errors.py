"""Error tree of the storage layer: every error it raises is a :class:`StorageError`."""

from __future__ import annotations


class StorageError(Exception):
    """Root of all errors raised by the ``storage`` package."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be opened or written (missing directory, read-only file, locked)."""


class MigrationError(StorageError):
    """The database schema is newer than this program or a migration failed."""


class NotFoundError(StorageError):
    """A record asked for by id does not exist."""
