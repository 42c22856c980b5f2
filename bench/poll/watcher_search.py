"""The first `watcher search` after a poll, which brings the search index up to date first
(`watcher poll` leaves its new articles queued for it), then the same search again.

Prints one JSON line: seconds of each search, the articles indexed and found."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--query", default="model")
    args = ap.parse_args()

    from storage.sqlite import open_store

    store = open_store(args.db)
    try:
        queued = store.db.conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0]
        t0 = time.perf_counter()
        found = store.search(args.query)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = store.search(args.query)
        second = time.perf_counter() - t0
    finally:
        store.close()
    print(
        json.dumps(
            {
                "queued": queued,
                "first_s": first,
                "again_s": second,
                "found": len(found),
                "same": [a.id for a in found] == [a.id for a in again],
            }
        )
    )


if __name__ == "__main__":
    main()
