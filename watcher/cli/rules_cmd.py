"""``watcher rules``: check the rules, score them on a labelled set, backtest them on the store."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from rules import Document, RuleSet
from rules.errors import RulesError
from rules.evaluation import (
    NAIVE_PATTERNS,
    Case,
    RuleScore,
    evaluate,
    naive_matcher,
    parse_cases,
    ruleset_matcher,
)
from watcher.cli.common import AppContext, handle_errors, pass_app, utcnow
from watcher.config import RulesConfig, parse_duration


@click.group("rules")
def rules_group() -> None:
    """Check, evaluate and backtest the matching rules."""


def _ruleset(app: AppContext, extra: tuple[Path, ...] = ()) -> tuple[RuleSet, RulesConfig]:
    from watcher.ruleload import load_ruleset

    cfg = app.config().rules
    if extra:
        cfg = RulesConfig(cfg.packs, (*cfg.files, *extra), cfg.capex_threshold_usd)
    return load_ruleset(cfg), cfg


@rules_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@pass_app
@handle_errors
def check(app: AppContext, files: tuple[Path, ...]) -> None:
    """Validate the configured packs and rule files (and FILES, if given); list the rules.

    Errors name the file, the rule id, the field and the reason; non-zero exit status.
    """
    ruleset, cfg = _ruleset(app, files)
    sources = [f"pack {p}" for p in cfg.packs] + [str(f) for f in cfg.files]
    click.echo(
        f"OK: {len(ruleset.rule_ids)} rules, {ruleset.term_count} terms "
        f"from {', '.join(sources) or 'nothing'}"
    )
    for rid, spec in ruleset.rules.items():
        tags = f" [{', '.join(spec.tags)}]" if spec.tags else ""
        click.echo(f"  {rid:<18} {spec.severity:<6} {spec.name}{tags}  ({spec.origin})")


def _score_line(s: RuleScore) -> str:
    return f"P={s.precision:.3f} R={s.recall:.3f} F1={s.f1:.3f} (tp={s.tp} fp={s.fp} fn={s.fn})"


def _short(case: Case, width: int = 110) -> str:
    text = " ".join((case.title + " " + case.text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@rules_group.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule (repeatable).")
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="Also score the naive one-keyword-regex-per-rule baseline.",
)
@click.option(
    "--misses",
    "max_misses",
    default=10,
    show_default=True,
    help="How many misses and false alarms to list per rule.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--min-f1", type=float, default=None, help="Exit 1 when a scored rule's F1 is below this."
)
@pass_app
@handle_errors
def eval_cmd(
    app: AppContext,
    file: Path,
    rule_ids: tuple[str, ...],
    baseline: bool,
    max_misses: int,
    fmt: str,
    min_f1: float | None,
) -> None:
    """Precision, recall and F1 per rule on a labelled JSONL set, with the misses.

    Each line: {"text": ..., "expect": ["deepseek", ...], "title"?: ..., "language"?: ...}.
    Scored rules: --rule, else every rule named in an "expect" list that the rule set has.
    """
    ruleset, _ = _ruleset(app)
    try:
        cases = parse_cases(file.read_text(encoding="utf-8").splitlines(), str(file))
    except RulesError as exc:
        raise click.ClickException(str(exc)) from exc
    named = sorted({r for c in cases for r in c.expect})
    rules = list(rule_ids) or [r for r in named if r in ruleset.rules]
    unknown = [r for r in (rule_ids or tuple(named)) if r not in ruleset.rules]
    scores = evaluate(cases, ruleset_matcher(ruleset), rules)
    naive = (
        {
            s.rule: s
            for s in evaluate(cases, naive_matcher(), [r for r in rules if r in NAIVE_PATTERNS])
        }
        if baseline
        else {}
    )
    if fmt == "json":
        out: dict[str, Any] = {"file": str(file), "cases": len(cases), "rules": {}}
        for s in scores:
            entry: dict[str, Any] = {
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "tp": s.tp,
                "fp": s.fp,
                "fn": s.fn,
                "misses": [c.line for c in s.misses],
                "false_alarms": [c.line for c in s.false_alarms],
            }
            if s.rule in naive:
                n = naive[s.rule]
                entry["baseline"] = {"precision": n.precision, "recall": n.recall, "f1": n.f1}
            out["rules"][s.rule] = entry
        if unknown:
            out["unknown_rules"] = unknown
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        _check_floor(scores, min_f1)
        return
    click.echo(f"{file}: {len(cases)} cases, {len(rules)} rules")
    if unknown:
        click.echo(f"  (not in the rule set, not scored: {', '.join(unknown)})")
    for s in scores:
        click.echo(f"{s.rule:<16} rules:    {_score_line(s)}")
        if s.rule in naive:
            click.echo(f"{'':<16} baseline: {_score_line(naive[s.rule])}")
        for c in s.misses[:max_misses]:
            click.echo(f"    miss  line {c.line}: {_short(c)}")
        for c in s.false_alarms[:max_misses]:
            click.echo(f"    false line {c.line}: {_short(c)}")
    _check_floor(scores, min_f1)


def _check_floor(scores: list[RuleScore], min_f1: float | None) -> None:
    if min_f1 is None:
        return
    low = [s.rule for s in scores if s.f1 < min_f1]
    if low:
        click.echo(f"F1 below {min_f1}: {', '.join(low)}", err=True)
        sys.exit(1)


@rules_group.command("backtest")
@click.option(
    "--since", default="30d", show_default=True, help="How far back to look (e.g. 24h, 7d, 30d)."
)
@click.option("--samples", default=3, show_default=True, help="Sample matches per rule.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
@handle_errors
def backtest(app: AppContext, since: str, samples: int, fmt: str) -> None:
    """Apply the current rules to stored articles (never alerts): counts per rule, how they
    differ from the matches stored at the time, and sample matches."""
    try:
        seconds = parse_duration(since)
    except (ValueError, Exception) as exc:  # parse_duration's own error type varies
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    ruleset, _ = _ruleset(app)
    store = app.store()
    now = utcnow()
    articles = store.articles_between(now - timedelta(seconds=seconds), now)
    now_counts: Counter[str] = Counter()
    then_counts: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    sample: dict[str, list[dict[str, Any]]] = {}
    for art in articles:
        found = ruleset.match(
            Document(
                text=art.text,
                title=art.title,
                url=art.url,
                source=art.source,
                language=art.language,
            )
        )
        new = {m.rule for m in found}
        old = {m.rule for m in store.article_matches(art.id)}
        now_counts.update(new)
        then_counts.update(old)
        gained.update(new - old)
        lost.update(old - new)
        for m in found:
            bucket = sample.setdefault(m.rule, [])
            if len(bucket) < samples:
                ev = m.evidence[0]
                bucket.append(
                    {
                        "article": art.id,
                        "title": art.title,
                        "url": art.url,
                        "evidence": ev.text,
                        "snippet": ev.snippet,
                    }
                )
    rules = sorted(set(now_counts) | set(then_counts) | set(ruleset.rule_ids))
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "since": since,
                    "articles": len(articles),
                    "rules": {
                        r: {
                            "matches": now_counts[r],
                            "stored": then_counts[r],
                            "gained": gained[r],
                            "lost": lost[r],
                            "samples": sample.get(r, []),
                        }
                        for r in rules
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"{len(articles)} stored articles since {since} (no alerts are sent)")
    click.echo(f"  {'rule':<18}{'now':>6}{'stored':>8}{'gained':>8}{'lost':>6}")
    for r in rules:
        click.echo(f"  {r:<18}{now_counts[r]:>6}{then_counts[r]:>8}{gained[r]:>8}{lost[r]:>6}")
    for r in rules:
        for s in sample.get(r, []):
            click.echo(f"  {r}: #{s['article']} {s['title'] or s['url']}")
            click.echo(f"      {s['snippet']}")
    if not articles:
        sys.stdout.flush()


COMMANDS: list[click.Command] = [rules_group]
