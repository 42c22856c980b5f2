"""Storage benchmark: FTS5 tokenizers side by side, and SQLiteStore.record_article throughput.

Reads real article texts from ../shared/corpus (never copied into the repo):
181 English pages of the scrapinghub benchmark, 78 multilingual readability test pages
(Chinese among them) and the Arabic seed article.

    .venv/bin/python bench/storage_bench.py [--repeat N]

Prints, for the trigram tokenizer (what storage uses) and unicode61 (the default one):
insert time, database size and how many articles each query finds.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
QUERIES = [
    "DeepSeek",
    "ديبسيك",
    "الذكاء",
    "ذكاء",
    "ميتا",
    "人工智能",
    "两会",
    "DeepMind",
    "said",
    "police",
]


def load_texts() -> list[tuple[str, str]]:
    pages = CORPUS / "pages" / "scrapinghub_article_extraction_benchmark" / "expected_txt"
    texts = [(p.stem[:12], p.read_text(encoding="utf-8")) for p in sorted(pages.glob("*.txt"))]
    readability = CORPUS / "pages" / "mozilla_readability_test_pages"
    for p in sorted(readability.glob("*/expected.derived.txt")):
        texts.append((p.parent.name, p.read_text(encoding="utf-8")))
    seed = CORPUS / "seed" / "meta-deepseek-llama4-ar.txt"
    if seed.is_file():
        texts.append(("seed-ar", seed.read_text(encoding="utf-8")))
    return texts


def bench_tokenizer(
    tokenize: str, texts: list[tuple[str, str]], repeat: int, tmp: Path
) -> dict[str, object]:
    path = tmp / f"fts-{tokenize.split()[0]}.db"
    db = Database(sqlite3.connect(path, isolation_level=None), execute_plugins=False)
    db["articles"].create({"id": int, "title": str, "text": str}, pk="id")
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize=tokenize)
    rows = [{"title": t, "text": x} for _ in range(repeat) for t, x in texts]
    start = time.perf_counter()
    with db.atomic():
        db["articles"].insert_all(rows, batch_size=200)
    insert_s = time.perf_counter() - start
    hits: dict[str, int] = {}
    start = time.perf_counter()
    for q in QUERIES:
        phrase = '"' + q.replace('"', '""') + '"'
        hits[q] = db.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [phrase]
        ).fetchone()[0]
    search_ms = (time.perf_counter() - start) * 1000 / len(QUERIES)
    db.execute("VACUUM")
    db.close()
    return {
        "insert_s": insert_s,
        "size_mb": path.stat().st_size / 1e6,
        "search_ms": search_ms,
        "hits": hits,
    }


def bench_store(texts: list[tuple[str, str]], repeat: int, tmp: Path) -> tuple[float, float, int]:
    sys.path.insert(0, str(REPO))
    from rules.models import Evidence, RuleMatch
    from storage import NewArticle, canonical_url, open_store

    rm = RuleMatch("deepseek", "DeepSeek", "high", ("ai",), (Evidence("text", 0, 1, "x", "x"),))
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    store = open_store(tmp / "store.db")
    n = 0
    start = time.perf_counter()
    for r in range(repeat):
        for name, text in texts:
            url = f"https://bench.example/{r}/{name}?utm_source=rss"
            art = NewArticle(
                url=url,
                canonical_url=canonical_url(url),
                source="bench",
                title=f"{name} {r}",
                text=text,
            )
            store.record_article(art, [rm], {"ops": ["deepseek"]}, t0 + timedelta(seconds=n))
            n += 1
    per_article_ms = (time.perf_counter() - start) * 1000 / n
    # duplicates: same texts again under new URLs -> found by content hash
    start = time.perf_counter()
    dups = 0
    for name, text in texts:
        url = f"https://mirror.example/{name}"
        art = NewArticle(url=url, canonical_url=url, source="mirror", title=f"{name} 0", text=text)
        if not store.record_article(art, [rm], {"ops": ["deepseek"]}, t0).created:
            dups += 1
    dup_ms = (time.perf_counter() - start) * 1000 / len(texts)
    store.close()
    return per_article_ms, dup_ms, dups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="copies of the corpus to insert")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print("../shared/corpus is absent: nothing to measure")
        return
    texts = load_texts()
    chars = sum(len(t) for _, t in texts) * args.repeat
    print(f"{len(texts) * args.repeat} articles, {chars / 1e6:.1f} M characters of text")
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            tok: bench_tokenizer(tok, texts, args.repeat, Path(tmp))
            for tok in ("trigram case_sensitive 0", "unicode61 remove_diacritics 2")
        }
        tri, uni = results.values()
        print(f"{'':24}{'trigram':>12}{'unicode61':>12}{'ratio':>8}")
        for key, unit in (("insert_s", "s"), ("size_mb", "MB"), ("search_ms", "ms/query")):
            a, b = float(tri[key]), float(uni[key])  # type: ignore[arg-type]
            print(
                f"{key + ' (' + unit + ')':24}{a:12.3f}{b:12.3f}{a / b if b else float('nan'):8.2f}"
            )
        print("hits per query (phrase match):")
        for q in QUERIES:
            print(f"  {q:22}{tri['hits'][q]:>12}{uni['hits'][q]:>12}")  # type: ignore[index]
        per, dup, dups = bench_store(texts, args.repeat, Path(tmp))
        print(
            f"SQLiteStore.record_article: {per:.2f} ms/article (new), {dup:.2f} ms/article "
            f"(duplicate by content hash, {dups}/{len(texts)} recognised)"
        )


if __name__ == "__main__":
    main()
