"""The worker pool of the poller: processes (forkserver) that parse sources, extract pages
and match feed items (:mod:`watcher.jobs`), started and stopped without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

from watcher.jobs import init_worker, noop

__all__ = ["POOL_SHUTDOWN_S", "shutdown_pool", "start_pool", "stop_started_pool"]

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


def start_pool(workers: int, rules_blob: bytes | None, pages: bool = True) -> ProcessPoolExecutor:
    """A started pool: every worker spawned and initialised. Blocks for a while (forkserver
    start-up, imports), so the poller calls it in a thread, off the event loop. ``pages``:
    whether article pages will be extracted (trafilatura is then imported up front)."""
    ctx = multiprocessing.get_context("forkserver")
    preload = ["watcher.jobs", "watcher.discovery", "rules.engine"]
    ctx.set_forkserver_preload([*preload, "watcher.extract", "trafilatura"] if pages else preload)
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
