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


class TransactionAborted(StorageError):
    """SQLite rolled back the whole transaction of a :meth:`~storage.sqlite.SQLiteStore.
    transaction` block on its own (disk full, I/O error, out of memory): nothing the block
    wrote is kept, and the block cannot go on."""
