"""Group commit for the poller: the store writes of sources that finish in the same turn of
the event loop go into one transaction.

Each source's bookkeeping (its new articles, fetch log entry and state) is one synchronous
function. :meth:`WriteGroup.run` queues it and waits; the first write queued in a turn
schedules a flush for the end of that turn, which runs every queued write in one transaction.
If any of them raises, or the transaction cannot commit, nothing of the group is kept and each
write runs again alone, in a transaction of its own: the one that fails fails alone, and its
caller gets its error. If the transaction cannot even begin (another process holds the lock
past the busy timeout, the store is closed), every caller gets that error at once: trying
again write by write would only wait for the lock once per write, on the event loop.

So a write must be safe to run twice: it may change the database, but no Python state that a
second run would count again. And it must let a store error out, never catch it and go on:
its calls have no savepoints of their own (``transaction(atomic_calls=False)``), so half of a
failed call would be kept.

No lock is held across an ``await``: a flush is one synchronous call. A poll where one
source finishes at a time commits once per source (before: twice, articles then bookkeeping);
when several are ready together they share the commit. bench/bench_commits.py (500 sources x
20 new items): groups of 2 take 0.89x the store time of two transactions per source, groups
of 5 0.82x, and 0.97x / 0.86x with a savepoint per write (which the retry alone replaces);
bench/poll: ~240 commits instead of 1,000 in a cold poll, ~50 instead of 500 in a warm one.

With a ``commit_window`` (the poller's: :data:`COMMIT_WINDOW_S`), the groups of that long
share one commit: each group is a savepoint of a transaction the store leaves open
(``transaction(defer_commit=True)``), committed ``commit_window`` seconds after its first
group, by :meth:`WriteGroup.commit` (the poller calls it at the end of every poll and when it
closes), or as soon as the store writes in any other way (an alert delivery, the search
index), so that such a write is still committed when its call returns. A group's callers go
on before that commit; a crash in between loses at most that window of bookkeeping, and its
sources are polled again.

A commit rewrites into the WAL every page its groups dirtied, most of them random pages of
the content-hash index: in bench/poll's cold poll a commit cost about as much as a source's
20 inserts. Windows take the main process's CPU from 0.89 to 0.86 s and the whole run from
1.108 to 1.083 s (10 alternating runs; back to back, without the pause below, 0.96 -> 0.85 s
of CPU).

After each window's commit the groups of the next ``commit_window`` commit one by one, as
without a window, so that the write lock is free between them and another process's writer
(``watcher mute``, ``watcher search`` bringing the index up to date) gets in during a long
poll. A writer every 20 ms during that cold poll waited p50 ~8 ms, at most ~45 ms with a
commit per group; with windows back to back it waited for the whole poll; with the pause
p50 6-57 ms, at most 180-240 ms (SQLite's busy handler retries at growing intervals)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from storage.interface import Store

__all__ = ["COMMIT_WINDOW_S", "WriteGroup"]

log = logging.getLogger("watcher.poll")

#: How long the poller's groups wait to share a commit (see the module docstring).
COMMIT_WINDOW_S = 0.05

T = TypeVar("T")


class _Pending(Generic[T]):
    __slots__ = ("future", "write")

    def __init__(self, write: Callable[[], T], future: asyncio.Future[T]) -> None:
        self.write = write
        self.future = future


class WriteGroup:
    """Runs writes queued in the same event-loop turn in one store transaction."""

    def __init__(
        self,
        store: Store,
        commit_window: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.commit_window = commit_window
        self.clock = clock  # seconds (monotonic), for the pause after a commit
        self._resume_at = 0.0  # groups commit alone until then (see the module docstring)
        self._queue: list[_Pending[Any]] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None  # a flush is scheduled there
        self._commit_at: asyncio.TimerHandle | None = None  # the window's commit
        self.flushes = 0  # groups written (for tests and benchmarks)
        self.commits = 0  # transactions committed (as many as flushes without a window)

    def commit(self) -> None:
        """Commit the groups written since the last commit, now. A failure is logged (their
        writes are lost; the sources are polled again), not raised: it comes from a timer."""
        if self._commit_at is not None:
            self._commit_at.cancel()
            self._commit_at = None
        try:
            committed = self.store.commit_deferred()
        except Exception as exc:
            log.error("the poll's last writes could not be committed: %s", exc)
            return
        if committed:
            self.commits += 1
            self._resume_at = self.clock() + self.commit_window

    def _written(self, deferred: bool) -> None:
        """After a group: its commit, done (``deferred`` False) or at the end of the window."""
        if not deferred:
            self.commits += 1
        elif self._commit_at is None:
            self._commit_at = asyncio.get_running_loop().call_later(self.commit_window, self.commit)

    def _defer(self) -> bool:
        """Whether the next group joins the window's transaction (or commits alone)."""
        return self.commit_window > 0 and self.clock() >= self._resume_at

    async def run(self, write: Callable[[], T]) -> T:
        """Run ``write`` (synchronous, store calls only; safe to run twice, see the module
        docstring) in this turn's group transaction and return its result, or raise its
        exception. A caller cancelled before the flush is dropped from it: its write does not
        run."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = _Pending(write, future)
        if self._flush_on is not loop:
            if self._flush_on is not None:  # left by a loop that stopped before flushing
                self._queue = [p for p in self._queue if p.future.get_loop() is loop]
            self._flush_on = loop
            loop.call_soon(self._flush)
        self._queue.append(pending)
        return await future

    def _flush(self) -> None:
        self._flush_on = None
        batch, self._queue = self._queue, []
        batch = [p for p in batch if not p.future.done()]  # cancelled while queued
        if not batch:
            return
        begun = False
        deferred = self._defer()
        try:
            # the group fails as a whole
            with self.store.transaction(atomic_calls=False, defer_commit=deferred):
                begun = True
                values = [p.write() for p in batch]
        except Exception as exc:
            if begun and len(batch) > 1:  # nothing of it is kept: each alone, so that only
                self._one_by_one(batch)  # the culprit fails
            else:  # no transaction at all (locked, closed): the others would fail the same
                for p in batch:
                    _settle(p, None, exc)
            return
        except BaseException as exc:
            for p in batch:
                _settle(p, None, exc)
            raise
        self.flushes += 1
        self._written(deferred)
        for p, value in zip(batch, values, strict=True):
            _settle(p, value, None)

    def _one_by_one(self, batch: list[_Pending[Any]]) -> None:
        for i, p in enumerate(batch):
            begun = False
            deferred = self._defer()
            try:
                with self.store.transaction(atomic_calls=False, defer_commit=deferred):
                    begun = True
                    value = p.write()
            except Exception as exc:
                if begun:
                    _settle(p, None, exc)
                    continue
                for rest in batch[i:]:  # no transaction at all: the rest would wait in vain
                    _settle(rest, None, exc)
                return
            except BaseException as exc:
                for rest in batch[i:]:
                    _settle(rest, None, exc)
                raise
            self.flushes += 1
            self._written(deferred)
            _settle(p, value, None)


def _settle(p: _Pending[Any], value: Any, error: BaseException | None) -> None:
    if p.future.done():  # its caller was cancelled meanwhile
        return
    if error is None:
        p.future.set_result(value)
    else:
        p.future.set_exception(error)
