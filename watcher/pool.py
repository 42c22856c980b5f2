"""The worker pool of the poller: processes (forkserver) that parse sources, extract pages
and match feed items (:mod:`watcher.jobs`), started and stopped without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.interface import Store
    from watcher.config import SourceConfig

__all__ = [
    "POOL_SHUTDOWN_S",
    "preload",
    "prestart",
    "shutdown_pool",
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


def stop_started_pool(start: asyncio.Future[ProcessPoolExecutor]) -> None:
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
        states = {s.name: s for s in store.list_sources()}
    except Exception:  # the poll itself will report a store problem
        return False
    for source in sources:
        state = states.get(source.name)
        if state is None or (not state.retired and not (state.etag or state.last_modified)):
            return True
    return False


def prestart(pages: bool) -> None:
    """Start the forkserver now: a fresh interpreter that imports :func:`preload` (~0.1 s on
    another core), so that it is up when the poll starts its pool and only the workers' own
    start-up (compiling the rules) remains. ``watcher poll`` calls it as soon as it has its
    config and database, before importing the poller. bench/poll, cold: the pool is ready
    ~0.03 s sooner. If no pool is started after all, the server idles and exits with this
    process."""
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(preload(pages))
    forkserver.ensure_running()


def start_pool(workers: int, rules_blob: bytes | None, pages: bool = True) -> ProcessPoolExecutor:
    """A started pool: every worker spawned and initialised. Blocks for a while (forkserver
    start-up, imports), so the poller calls it in a thread, off the event loop. ``pages``:
    see :func:`preload`."""
    from watcher.jobs import init_worker, noop

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload(pages))
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
