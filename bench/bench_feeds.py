"""Feed parsing benchmark: this project's parse_feed (lxml fast paths for plain RSS 2.0 and Atom
1.0, feedparser for the rest) against feedparser alone, on real news feeds.

Reads the real feeds of ../shared/corpus/feeds/real_news_2026-02 (never copied into the repo;
exits cleanly when the corpus is absent) and parses each one several times both ways.

    .venv/bin/python bench/bench_feeds.py [--repeat N]

Prints how many feeds each fast path takes, and the time per feed of both parsers, on the
feeds a fast path takes and on all of them, with the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / "shared" / "corpus" / "feeds" / "real_news_2026-02"
URL = "https://news.example/feed"


def main() -> None:
    from watcher.errors import ParseError
    from watcher.fast_atom import fast_atom
    from watcher.fast_rss import fast_rss
    from watcher.feeds import _parse_xml_feed, parse_feed

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}: nothing to measure")
        return
    bodies = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        body = path.read_bytes()
        try:
            _parse_xml_feed(body, {}, URL)
        except ParseError:
            continue  # not an XML feed (JSON Feed, licence files, HTML)
        bodies.append((path.name, body))
    rss = [b for _, b in bodies if fast_rss(b, {}, URL) is not None]
    atom = [b for _, b in bodies if fast_atom(b, {}, URL) is not None]
    fast = rss + atom

    def per_feed(fn, docs: list[bytes]) -> float:  # type: ignore[no-untyped-def]
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            for b in docs:
                fn(b, {}, URL)
            best = min(best, time.perf_counter() - t)
        return best / max(len(docs), 1) * 1000

    print(f"{len(bodies)} real XML feeds; fast path takes {len(rss)} RSS + {len(atom)} Atom")
    for label, docs in (("feeds a fast path takes", fast), ("all feeds", [b for _, b in bodies])):
        ours, theirs = per_feed(parse_feed, docs), per_feed(_parse_xml_feed, docs)
        print(
            f"  {label:<24} parse_feed {ours:6.2f} ms/feed   feedparser {theirs:6.2f} ms/feed"
            f"   ratio {ours / theirs:.2f}"
        )


if __name__ == "__main__":
    main()
