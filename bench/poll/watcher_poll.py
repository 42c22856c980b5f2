"""One poll of the benchmark feeds by this project (run in its own process by run.py).

Prints one JSON line: seconds spent in the poll (after start-up) and, with ``--index``, in the
search-index update after it (`watcher poll` leaves that to the next `watcher search`, the daemon
to a background job), counts, peak RSS of this process and of the pool workers (KB)."""

from __future__ import annotations

import time

# Like the `watcher` console script, this module imports (almost) nothing at the top:
# multiprocessing imports the main module again in every pool worker.


def main() -> None:
    t_start = time.perf_counter()
    import argparse
    import asyncio
    import json
    import os
    import pickle
    import resource
    from datetime import UTC, datetime
    from pathlib import Path

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--fulltext", action="store_true")
    ap.add_argument("--index", action="store_true", help="update the search index afterwards")
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--transport", choices=["auto", "h1", "httpx", "aiohttp"], default="auto")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--max-connections", type=int, default=32)
    ap.add_argument("--per-host", type=int, default=32)
    args = ap.parse_args()

    # in the order of `watcher poll`: the config and the rules, the pool started, the rest
    from watcher import pool
    from watcher.config import parse_config
    from watcher.ruleload import load_rules_lazily

    # Every feed lives on one loopback host here, so per_host is raised to the global limit
    # (the per-host default of 2 is for real sites).
    cfg = parse_config(
        {
            "storage": {"path": str(args.db)},
            "source": [
                {"name": f"f{i}", "url": f"{args.base}/f/{i}.xml", "fulltext": args.fulltext}
                for i in range(args.feeds)
            ],
            "alert": [{"name": "log", "kind": "log"}],
            "fetch": {"max_connections": args.max_connections, "per_host": args.per_host},
        },
        path=None,
        env={},
    )
    ruleset = load_rules_lazily(cfg.rules)  # as `watcher poll` does
    # the worker pool starts as in `watcher poll`: before a new database is created, or once
    # the database says some source has no validators yet; the poller adopts it
    early = None
    workers = pool.default_workers(args.fulltext) if args.workers is None else args.workers
    new_database = not args.db.exists()
    if workers and new_database:
        early = pool.start_early(workers, lambda: pickle.dumps(ruleset), args.fulltext)
    from storage.sqlite import open_store
    from watcher import heap

    store = open_store(args.db)
    if workers and not new_database and pool.wanted_at_start(store, cfg.sources):
        early = pool.start_early(workers, pickle.dumps(ruleset), args.fulltext)

    from watcher.pipeline import Poller  # (after the pool's prestart, as in `watcher poll`)

    heap.enable()  # as the `watcher` console script does
    heap.settle()  # as `watcher poll` does before its cycle

    worker_cpu = [0.0]

    def pool_cpu(poller: Poller) -> float:
        """CPU seconds of the pool workers (grandchildren via the forkserver: not in rusage)."""
        procs = getattr(poller._executor, "_processes", None) or {}
        total = 0.0
        for pid in procs:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    parts = f.read().rsplit(")", 1)[1].split()
                total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
        return total

    async def run() -> tuple[object, float]:
        # As `watcher poll` does: the poller makes its client (after starting its pool)
        async with Poller(
            cfg, store, ruleset, workers=workers, backend=args.transport, early_pool=early
        ) as poller:
            t0 = time.perf_counter()
            report = await poller.poll(datetime.now(UTC))
            elapsed = time.perf_counter() - t0
            worker_cpu[0] = pool_cpu(poller)
            return report, elapsed

    startup = time.perf_counter() - t_start
    report, seconds = asyncio.run(run())
    index_s = None
    if args.index:
        t_index = time.perf_counter()
        store.index_pending()
        index_s = time.perf_counter() - t_index
    store.close()
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    statuses: dict[str, int] = {}
    for r in report.sources:  # type: ignore[attr-defined]
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(
        json.dumps(
            {
                "poll_s": seconds,
                "index_s": index_s,
                "startup_s": startup,
                "statuses": statuses,
                "items": report.items,  # type: ignore[attr-defined]
                "new_articles": report.new_articles,  # type: ignore[attr-defined]
                "matched": report.matched_articles,  # type: ignore[attr-defined]
                "rss_self_kb": me.ru_maxrss,
                "rss_child_max_kb": kids.ru_maxrss,
                "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                "cpu_workers_s": worker_cpu[0],
            }
        )
    )


if __name__ == "__main__":
    main()
