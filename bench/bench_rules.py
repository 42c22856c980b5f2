"""Benchmark: normalise + match + evidence throughput of the rules engine vs a naive regex loop.

Run: ``.venv/bin/python bench/bench_rules.py [--repeat N]``. Text: the human-extracted article
texts of the shared corpus (../shared/corpus/pages, skipped when absent) plus our own labelled
dev-set sentences. Rules: the built-in ``default`` pack plus generated watch-list rules so that
the rule set has well over 1,000 aliases. The naive baseline is what a simple filter does: one
case-insensitive ``re`` alternation per rule, run rule by rule, with evidence from its matches.
Both run in the same process on the same text; MB/s counts UTF-8 bytes of input.
"""

from __future__ import annotations

import argparse
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
    args = ap.parse_args()

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
