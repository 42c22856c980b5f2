"""Generate the benchmark corpus: N feeds x M items, each item linking to a ~6 KB article page.

All text is invented from a small vocabulary (deterministic, seeded); about one article in
eight mentions a watched topic so that matching and alert routing do real work.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

WORDS = [
    "market",
    "company",
    "analysts",
    "said",
    "quarter",
    "growth",
    "model",
    "training",
    "cloud",
    "chips",
    "compute",
    "capacity",
    "investors",
    "revenue",
    "startup",
    "research",
    "team",
    "launch",
    "product",
    "customers",
    "energy",
    "power",
    "grid",
    "regulators",
    "policy",
    "europe",
    "asia",
    "america",
    "software",
    "hardware",
    "network",
    "storage",
    "cluster",
    "open",
    "source",
    "release",
    "benchmark",
    "results",
    "report",
    "billion",
    "million",
    "plans",
    "expand",
    "new",
    "first",
    "largest",
    "week",
    "today",
    "according",
    "statement",
    "interview",
    "executive",
    "officer",
    "engineers",
    "developers",
    "users",
]
TOPICS = [
    "DeepSeek released a new open model that rivals larger systems",
    "the company will spend $12 billion on new AI data centers next year",
    "Meta said Llama 4 is now available to developers",
]
NAV = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in WORDS[:12])


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(10, 22))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def article(rng: random.Random, title: str, when: datetime, topic: str | None) -> bytes:
    paras = [paragraph(rng) for _ in range(7)]
    if topic:
        paras.insert(2, f"In other news, {topic}.")
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{when.isoformat()}">
<meta property="og:site_name" content="Bench Wire"></head>
<body><header><nav><ul>{NAV}</ul></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Bench Writer</p>
{body}
</article>
<aside><h3>Related</h3><ul>{NAV}</ul></aside>
<section class="comments"><h3>Leave a comment</h3><p>Your email address will not be published.</p></section>
</main><footer><p>Copyright Bench Wire</p><a href="#top">Back to top</a></footer></body></html>
"""
    return html.encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--base", default="http://127.0.0.1:8765")
    args = ap.parse_args()
    rng = random.Random(4)
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    out: Path = args.out
    (out / "f").mkdir(parents=True, exist_ok=True)
    (out / "a").mkdir(parents=True, exist_ok=True)
    page_sizes = []
    for f in range(args.feeds):
        items = []
        for i in range(args.items):
            when = now - timedelta(minutes=37 * i + f)
            title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
            topic = rng.choice(TOPICS) if rng.random() < 0.125 else None
            page = article(rng, title, when, topic)
            page_sizes.append(len(page))
            (out / "a" / f"{f}-{i}.html").write_bytes(page)
            desc = sentence(rng) + " " + sentence(rng) + (f" {topic}." if topic else "")
            items.append(
                f"<item><title>{title}</title><link>{args.base}/a/{f}-{i}.html</link>"
                f"<guid>{args.base}/a/{f}-{i}.html</guid><pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
                f"<description>{desc}</description></item>"
            )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Bench feed {f}</title><link>{args.base}/</link><description>bench</description>"
            + "\n".join(items)
            + "</channel></rss>\n"
        )
        (out / "f" / f"{f}.xml").write_text(feed, encoding="utf-8")
    (out / "f" / "empty.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Empty</title>'
        f"<link>{args.base}/</link><description>idle</description></channel></rss>\n",
        encoding="utf-8",
    )
    meta = {
        "feeds": args.feeds,
        "items": args.items,
        "base": args.base,
        "avg_page_bytes": sum(page_sizes) // len(page_sizes),
    }
    (out / "meta.json").write_text(json.dumps(meta))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
