"""The core of :class:`storage.sqlite.SQLiteStore`: the connection, its lock, transactions.

:class:`StoreBase` holds the connection shared between threads behind an
:class:`threading.RLock`, the write/read transactions and savepoints, and the small query
helpers; :func:`_guarded` serialises a public method on the lock and turns sqlite3 errors into
:class:`StorageError`. The store's sections (``storage/_*_store.py``) build on it.
"""

from __future__ import annotations

import functools
import pathlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from storage._rows import Row
from storage.errors import DatabaseUnavailableError, StorageError, TransactionAborted

_CHUNK = 500  # ids per "IN (...)" query

T = TypeVar("T")

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="StoreBase")


def in_lists(values: Sequence[T]) -> Iterator[tuple[list[T], str]]:
    """``values`` in pieces of at most ``_CHUNK`` for ``IN (...)`` lists: each piece and its
    placeholders (``?,?,?``)."""
    for i in range(0, len(values), _CHUNK):
        chunk = list(values[i : i + _CHUNK])
        yield chunk, ",".join("?" * len(chunk))


def _guarded(
    fn: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], R]:
    """Serialise calls on the store's lock and turn sqlite3 errors into :class:`StorageError`."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            try:
                return fn(self, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                raise DatabaseUnavailableError(f"{self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc

    functools.update_wrapper(wrapper, fn)
    return wrapper


class StoreBase:
    """The connection, its lock and transactions, shared by the sections of the store."""

    def __init__(self, conn: sqlite3.Connection, path: pathlib.Path) -> None:
        self._db: Database | None = None  # made on demand: sqlite-utils is slow to import
        self._conn = conn
        self._lock = threading.RLock()
        self._closed = False
        self._savepoints = 0  # open savepoints (see _savepoint)
        self._blocks = 0  # open transaction() blocks
        # write calls need no savepoint of their own: one covers them already (a write
        # method's own, see _write) or the block lets itself fail (transaction(atomic_calls=False))
        self._in_method = False
        self.path = path

    @property
    def db(self) -> Database:
        """The underlying sqlite-utils database (for tests and maintenance commands)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self._conn, execute_plugins=False)
        return self._db

    # -- helpers ---------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        cursor = self._conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]

    def _row(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); joins one already open. Inside a
        :meth:`transaction` block, a write method is a savepoint of its own, so that it stays
        all or nothing even when the block goes on after its error."""
        conn = self._conn
        if conn.in_transaction:
            if self._blocks and not self._in_method:
                self._in_method = True
                try:
                    with self._savepoint():
                        yield conn
                finally:
                    self._in_method = False
            else:
                yield conn
            return
        if self._blocks:  # SQLite rolled the block's transaction back: never start another
            raise self._aborted()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            if not conn.in_transaction:  # an error caught inside took the transaction with it
                raise self._aborted()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # never leave a transaction open for the next call
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self, *, atomic_calls: bool = True) -> Iterator[None]:
        """Several write calls as one transaction: committed together, or undone together if
        the block raises. Nested, a savepoint (an inner failure undoes only the inner block).

        ``atomic_calls``: each write method called inside is all or nothing by itself (a
        savepoint of its own), so the block may go on after one fails. ``False`` saves those
        savepoints (~7% of a poll's store time, bench/bench_commits.py) for a caller that never
        goes on after an error inside: it lets the block fail.

        Keep the block short and synchronous: it holds the store's lock, and anything run
        by the same thread in the meantime (another coroutine, if the block awaited) would
        join it. An error after which SQLite rolls back the whole transaction by itself (disk
        full, I/O error) raises :class:`TransactionAborted` from every block around it, and
        from the innermost one too unless it has ``atomic_calls=False`` (then the call's own
        error comes out of it): nothing of the outermost one is kept."""
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            conn = self._conn
            if self._blocks and not conn.in_transaction:
                raise self._aborted()
            covered = self._in_method
            try:
                with self._savepoint() if conn.in_transaction else self._write():
                    self._blocks += 1
                    self._in_method = not atomic_calls
                    try:
                        yield
                    finally:
                        self._blocks -= 1
                        self._in_method = covered
            except sqlite3.OperationalError as exc:
                raise DatabaseUnavailableError(f"{self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"{self.path}: {exc}") from exc

    def _aborted(self) -> TransactionAborted:
        return TransactionAborted(
            f"{self.path}: SQLite rolled back the whole transaction after an error"
        )

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """Inside the open transaction: the block's writes are kept or undone together."""
        conn = self._conn
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as exc:
            if not conn.in_transaction:  # SQLite undid everything, not only this block
                if isinstance(exc, TransactionAborted):
                    raise
                raise self._aborted() from exc
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        if not conn.in_transaction:  # an error the block caught took the transaction with it
            raise self._aborted()
        conn.execute(f"RELEASE {name}")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot across several queries."""
        conn = self._conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")


if TYPE_CHECKING:
    from sqlite_utils import Database
