"""Benchmark: normalise + match + evidence throughput of the rules engine vs a naive regex loop.

Run: ``.venv/bin/python bench/bench_rules.py [--repeat N] [--short-only | --long-only]``.

Long texts: the human-extracted article texts of the shared corpus (../shared/corpus/pages,
skipped when absent) plus our own labelled dev-set sentences. Rules: the built-in ``default``
pack plus generated watch-list rules so that the rule set has well over 1,000 aliases. MB/s
counts UTF-8 bytes of input.

Short documents (feed items, where the cost is per document): the 10,000 items of the poll
benchmark (``bench/poll/gen.py``, same seed: title + summary, ~300 characters) and our own
dev/held-out sentences (many languages), matched against the ``default`` pack; docs/s and
microseconds per document.

The naive baseline is what a simple filter does: one case-insensitive ``re`` alternation per
rule, run rule by rule, with evidence from its matches. Both run in the same process on the
same text.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rules import Document, RuleSet, compile_rules, parse_rules  # noqa: E402
from rules.spec import EntityNode, Node, TermsNode  # noqa: E402
from watcher.config import RulesConfig  # noqa: E402
from watcher.ruleload import load_specs  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "pages"
DEV = REPO / "tests" / "data" / "rules_dev.jsonl"
CASES = [REPO / "tests" / "data" / f"rules_{n}.jsonl" for n in ("dev", "heldout", "heldout2")]


def load_texts() -> list[str]:
    texts: list[str] = []
    if CORPUS.is_dir():
        for pattern in (
            "scrapinghub_article_extraction_benchmark/expected_txt/*.txt",
            "newspaper4k/current/txt/*.txt",
            "mozilla_readability_test_pages/*/expected.derived.txt",
        ):
            for p in sorted(CORPUS.glob(pattern)):
                texts.append(p.read_text(encoding="utf-8", errors="replace"))
    else:
        print("(shared corpus absent: own text only)")
    own = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    # Our own text as article-sized documents of ~30 sentences each.
    for i in range(0, len(own), 30):
        texts.append("\n".join(own[i : i + 30]))
    return texts


def synthetic_rules(n_rules: int, per_rule: int, seed: int = 7) -> str:
    """Generated watch-list rules with invented names in Latin, Arabic, CJK and Cyrillic."""
    rnd = random.Random(seed)
    alphabets = [
        "abcdefghijklmnopqrstuvwxyz",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
        "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
        "абвгдежзийклмнопрстуфхцчшщыэюя",
    ]
    out = []
    for r in range(n_rules):
        aliases = []
        for _ in range(per_rule):
            alpha = rnd.choice(alphabets)
            k = rnd.randint(3, 4) if alpha[0] == "的" else rnd.randint(5, 10)
            word = "".join(rnd.choice(alpha) for _ in range(k))
            if rnd.random() < 0.3 and alpha[0] == "a":
                word += f" {rnd.randint(2, 9)}"
            aliases.append(word)
        quoted = ", ".join(json.dumps(a, ensure_ascii=False) for a in aliases)
        out.append(f'[[rule]]\nid = "watch-{r}"\nterms = [{quoted}]\n')
    return "\n".join(out)


def rule_terms(node: Node) -> list[str]:
    """Every literal term of a rule (for the naive baseline)."""
    if isinstance(node, TermsNode):
        return [t.rstrip("*") for t in node.terms]
    if isinstance(node, EntityNode):
        return [t.rstrip("*") for t in (*node.aliases, *node.ambiguous)]
    out: list[str] = []
    for attr in ("children", "child"):
        sub = getattr(node, attr, None)
        if sub is None:
            continue
        for c in sub if isinstance(sub, tuple) else (sub,):
            out.extend(rule_terms(c))
    return out


def naive_patterns(rs: RuleSet) -> dict[str, re.Pattern[str]]:
    pats = {}
    for rid, spec in rs.rules.items():
        terms = sorted(set(rule_terms(spec.root)), key=len, reverse=True)
        if terms:
            alt = "|".join(re.escape(t) for t in terms)
            pats[rid] = re.compile(rf"\b(?:{alt})\b", re.IGNORECASE)
    return pats


def feed_items(feeds: int = 500, items: int = 20) -> list[Document]:
    """The feed items of ``bench/poll/gen.py`` (same seed, same order) as the poll matches
    them: title + description, without building the article pages."""
    spec = importlib.util.spec_from_file_location("bench_poll_gen", REPO / "bench/poll/gen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    rng = random.Random(4)
    docs = []
    for f in range(feeds):
        for i in range(items):
            title = " ".join(rng.choice(gen.WORDS) for _ in range(7)).capitalize()
            topic = rng.choice(gen.TOPICS) if rng.random() < 0.125 else None
            for _ in range(7):  # the article page's paragraphs (not needed here)
                gen.paragraph(rng)
            desc = gen.sentence(rng) + " " + gen.sentence(rng) + (f" {topic}." if topic else "")
            url = f"http://127.0.0.1:8765/a/{f}-{i}.html"
            docs.append(Document(text=desc, title=title, url=url, source="x"))
    return docs


def case_docs() -> list[Document]:
    """Our own labelled sentences (dev and held-out sets) as short documents."""
    docs = []
    for path in CASES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                obj = json.loads(line)
                docs.append(
                    Document(
                        text=obj["text"], title=obj.get("title") or "", language=obj.get("language")
                    )
                )
    return docs


def run_engine_docs(rs: RuleSet, docs: list[Document]) -> int:
    return sum(len(m.evidence) for d in docs for m in rs.match(d))


def run_naive_docs(pats: dict[str, re.Pattern[str]], docs: list[Document]) -> int:
    return run_naive(pats, [f"{d.title}\n{d.text}" for d in docs])


def short_mode(repeat: int) -> None:
    rs = compile_rules(load_specs(RulesConfig(packs=("default",))))
    pats = naive_patterns(rs)
    sets = [
        ("poll bench feed items (gen.py)", feed_items()),
        ("dev/held-out sentences", case_docs()),
    ]
    print(f"short documents, default pack ({len(rs.rule_ids)} rules, {rs.term_count} terms):")
    print(
        f"{'':<32}{'docs':>7}{'chars':>7}{'engine us/doc':>15}{'docs/s':>9}"
        f"{'naive us/doc':>14}{'docs/s':>9}{'speed-up':>10}"
    )
    for name, docs in sets:
        chars = sum(len(d.title) + len(d.text) for d in docs) / len(docs)
        run_engine_docs(rs, docs)
        t_engine = best_of(lambda docs=docs: run_engine_docs(rs, docs), repeat)
        t_naive = best_of(lambda docs=docs: run_naive_docs(pats, docs), repeat)
        n = len(docs)
        print(
            f"{name:<32}{n:>7}{chars:>7.0f}{t_engine / n * 1e6:>15.1f}{n / t_engine:>9.0f}"
            f"{t_naive / n * 1e6:>14.1f}{n / t_naive:>9.0f}{t_naive / t_engine:>9.1f}x"
        )
    print("(target for feed items: <= 45 us/doc; before this work: ~91 us/doc)")


def run_engine(rs: RuleSet, docs: list[str]) -> int:
    n = 0
    for d in docs:
        for m in rs.match(Document(text=d)):
            n += len(m.evidence)
    return n


def run_naive(pats: dict[str, re.Pattern[str]], docs: list[str]) -> int:
    n = 0
    for d in docs:
        for rx in pats.values():
            for m in rx.finditer(d):
                n += 1
                _ = d[max(0, m.start() - 60) : m.end() + 60]  # snippet, like our evidence
    return n


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synthetic-rules", type=int, default=60)
    ap.add_argument("--aliases-per-rule", type=int, default=12)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--short-only", action="store_true", help="feed-item-sized documents only")
    mode.add_argument("--long-only", action="store_true", help="article texts only")
    args = ap.parse_args()
    if not args.long_only:
        short_mode(args.repeat)
        if args.short_only:
            return
        print()

    docs = load_texts()
    size = sum(len(d.encode("utf-8")) for d in docs)
    specs = load_specs(RulesConfig(packs=("default",)))
    specs += parse_rules(synthetic_rules(args.synthetic_rules, args.aliases_per_rule), "synthetic")
    t0 = time.perf_counter()
    rs = compile_rules(specs)
    compile_s = time.perf_counter() - t0
    pats = naive_patterns(rs)
    naive_aliases = sum(len(set(rule_terms(s.root))) for s in rs.rules.values())
    print(f"documents: {len(docs)}, {size / 1e6:.2f} MB UTF-8")
    print(
        f"rules: {len(rs.rule_ids)}, compiled terms: {rs.term_count} "
        f"(naive: {naive_aliases} aliases in {len(pats)} patterns); compile {compile_s:.2f}s"
    )

    ev = run_engine(rs, docs)
    nv = run_naive(pats, docs)
    t_engine = best_of(lambda: run_engine(rs, docs), args.repeat)
    t_naive = best_of(lambda: run_naive(pats, docs), args.repeat)
    mb = size / 1e6
    print(f"{'':<34}{'seconds':>9}{'MB/s':>9}{'evidence':>10}")
    print(f"{'rules engine (normalise+match+ev)':<34}{t_engine:>9.3f}{mb / t_engine:>9.1f}{ev:>10}")
    print(f"{'naive: one re per rule':<34}{t_naive:>9.3f}{mb / t_naive:>9.1f}{nv:>10}")
    print(f"speed-up: {t_naive / t_engine:.1f}x  (targets: >= 10 MB/s per core, >= 10x naive)")

    # The same with the built-in default pack alone (no generated rules).
    small = compile_rules(load_specs(RulesConfig(packs=("default",))))
    small_pats = naive_patterns(small)
    t_small = best_of(lambda: run_engine(small, docs), args.repeat)
    t_small_naive = best_of(lambda: run_naive(small_pats, docs), args.repeat)
    print(
        f"default pack only ({small.term_count} terms): engine {mb / t_small:.1f} MB/s, "
        f"naive {mb / t_small_naive:.1f} MB/s, speed-up {t_small_naive / t_small:.1f}x"
    )


if __name__ == "__main__":
    main()
