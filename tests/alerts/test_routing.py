"""route(): a channel's rule filter and minimum severity."""

from __future__ import annotations

from pathlib import Path

from rules.models import Evidence, RuleMatch
from tests.alerts.helpers import make_config
from watcher.alerts.routing import route


def _m(rule: str, severity: str) -> RuleMatch:
    return RuleMatch(rule, rule, severity, (), (Evidence("text", 0, 1, "x", rule),))  # type: ignore[arg-type]


def test_rule_filter_and_min_severity(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path,
        [
            {"name": "all", "kind": "log"},
            {"name": "capex-only", "kind": "log", "rules": ["capex"]},
            {"name": "urgent", "kind": "log", "min_severity": "high"},
            {"name": "nothing", "kind": "log", "rules": ["llama4"]},
        ],
    )
    matches = [_m("deepseek", "normal"), _m("capex", "high"), _m("misc", "low")]
    assert route(matches, cfg.alerts) == {
        "all": ("deepseek", "capex", "misc"),
        "capex-only": ("capex",),
        "urgent": ("capex",),
    }
    assert route([], cfg.alerts) == {}
