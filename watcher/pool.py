"""The worker pool of the poller: processes (forkserver) that parse sources, extract pages
and match feed items (:mod:`watcher.jobs`), started and stopped without blocking the loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.interface import Store
    from watcher.config import SourceConfig

__all__ = [
    "POOL_SHUTDOWN_S",
    "EarlyPool",
    "default_workers",
    "preload",
    "shutdown_pool",
    "start_early",
    "start_pool",
    "stop_started_pool",
    "wanted_at_start",
]

log = logging.getLogger("watcher.poll")  # the poll engine's logger

POOL_SHUTDOWN_S = 10.0


async def shutdown_pool(pool: Executor, grace: float) -> None:
    """Stop the worker pool without blocking the event loop; workers still busy after
    ``grace`` seconds (a pathological page) are killed so the daemon can always exit."""
    try:
        await asyncio.wait_for(
            asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True), grace
        )
    except TimeoutError:
        log.warning("worker pool did not stop within %.0fs; killing its workers", grace)
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                proc.kill()


def stop_started_pool(
    start: asyncio.Future[ProcessPoolExecutor] | concurrent.futures.Future[ProcessPoolExecutor],
) -> None:
    """Done-callback for a pool start nobody waits for any more: stop the pool it made."""
    if not start.cancelled() and start.exception() is None:
        start.result().shutdown(wait=False, cancel_futures=True)


def preload(pages: bool) -> list[str]:
    """What the forkserver imports once for all the workers it forks. ``pages``: whether
    article pages will be extracted (trafilatura is then imported up front)."""
    modules = ["watcher.jobs", "watcher.discovery", "rules.engine"]
    return [*modules, "watcher.extract", "trafilatura"] if pages else modules


def wanted_at_start(store: Store, sources: Iterable[SourceConfig]) -> bool:
    """Whether a poll of ``sources`` should start its pool up front: some source has no
    ETag/Last-Modified stored yet, so it will answer with a body to parse. (When all have
    them the pool starts on first use: a poll where all answer 304 needs none.)"""
    try:
        ready = store.conditional_sources()  # ~0.3 ms for 500 sources (list_sources: ~3.5 ms)
    except Exception:  # the poll itself will report a store problem
        return False
    return not all(ready.get(source.name, False) for source in sources)


def default_workers(pages: bool) -> int:
    """The pool's size: a worker per core when pages are extracted (extraction keeps every
    core busy); one less for feed-only sources, whose polls also keep this process busy (HTTP,
    SQLite). bench/poll, 2 cores: feed-only 1.68-1.83 s with 1 worker against 1.92-2.04 s with
    2; full text 19.9 s with 2 against 22.5 s with 1."""
    cores = os.cpu_count() or 2
    return cores if pages else max(1, cores - 1)


@dataclass(frozen=True)
class EarlyPool:
    """A pool started before the poller exists (:func:`start_early`); a
    :class:`watcher.pipeline.Poller` with the same workers, rules and ``pages`` adopts it,
    any other stops it."""

    started: concurrent.futures.Future[ProcessPoolExecutor]
    workers: int
    rules_blob: bytes | None
    pages: bool

    def discard(self) -> None:
        """Stop the pool once it is up (or now, if it is), without waiting for it."""
        self.started.add_done_callback(stop_started_pool)


def start_early(
    workers: int, rules_blob: bytes | Callable[[], bytes | None] | None, pages: bool
) -> EarlyPool:
    """Start the pool now, in a thread of its own: ``watcher poll`` calls it as soon as it
    has its config (and, for an existing database, knows a source will answer with a body),
    so that the forkserver's start-up and the workers' (imports, compiling the rules: ~0.15 s
    on another core) overlap the database's and the poller's own. bench/poll, cold, 12
    alternating runs: 1.334 -> 1.276 s whole process.

    ``rules_blob`` may be a function that makes it: it is called once the forkserver has been
    launched, so that its start-up (~0.1 s of imports) overlaps the rules being read and
    pickled here too."""
    _prestart_forkserver(pages)
    if callable(rules_blob):
        rules_blob = rules_blob()
    started: concurrent.futures.Future[ProcessPoolExecutor] = concurrent.futures.Future()

    def run() -> None:
        if not started.set_running_or_notify_cancel():
            return
        try:
            started.set_result(start_pool(workers, rules_blob, pages))
        except BaseException as exc:  # handed to whoever adopts it
            started.set_exception(exc)

    threading.Thread(target=run, name="pool-start", daemon=True).start()
    return EarlyPool(started, workers, rules_blob, pages)


def start_pool(workers: int, rules_blob: bytes | None, pages: bool = True) -> ProcessPoolExecutor:
    """A started pool: every worker spawned and initialised. Blocks for a while (forkserver
    start-up, imports), so the poller calls it in a thread, off the event loop. ``pages``:
    see :func:`preload`."""
    from watcher.jobs import init_worker, noop

    ctx = _context(pages)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=init_worker,
        initargs=(rules_blob, pages),
    )
    try:  # forkserver pools spawn a worker per submit, up to max_workers
        for fut in [pool.submit(noop) for _ in range(workers)]:
            fut.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def _context(pages: bool) -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload(pages))
    return ctx


def _prestart_forkserver(pages: bool) -> None:
    """Launch the forkserver process (it then imports :func:`preload` on its own) without
    waiting for it; the pool's first worker is forked from it. A failure is left to the
    pool's start, which reports it."""
    from multiprocessing import forkserver

    _context(pages)
    with contextlib.suppress(Exception):
        forkserver.ensure_running()
