"""Matching gives the same answer in every process: the field scan order does not follow the
hash seed (a pool worker and the main process run with different ones), and a near finds a
partner however many times its anchor term occurs before it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rules import Document
from watcher.config import RulesConfig
from watcher.ruleload import load_ruleset

REPO = Path(__file__).resolve().parents[2]

# Invented text: a company named all through a page, the product news only in the title, and
# a title/text pair where two evidence spans tie for a near.
CODE = r"""
from rules import Document
from watcher.config import RulesConfig
from watcher.ruleload import load_ruleset
rs = load_ruleset(RulesConfig())
docs = [
    Document(title="Alibaba launches a new AI model",
             text="Alibaba shares rose on the stock exchange today. " * 250),
    Document(title="Llama 4 news", language="en",
             text="Meta said Llama 4 Behemoth is still training; Llama 4 Scout ships today."),
]
for d in docs:
    print([(m.rule, [(e.field, e.start, e.end) for e in m.evidence]) for m in rs.match(d)])
"""


def _run(seed: int) -> str:
    env = dict(os.environ, PYTHONHASHSEED=str(seed), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_match_does_not_depend_on_the_hash_seed() -> None:
    outputs = {seed: _run(seed) for seed in (0, 3, 7)}
    assert outputs[0].count("\n") == 2
    assert outputs[0] == outputs[3] == outputs[7], outputs


def test_near_partner_after_many_anchors() -> None:
    rules = load_ruleset(RulesConfig())
    filler = "Alibaba shares rose on the stock exchange today. " * 250
    late = Document(title="Markets", text=filler + "Alibaba launches a new AI model.")
    assert "qwen" in [m.rule for m in rules.match(late)]
    none = Document(title="Markets", text=filler)
    assert "qwen" not in [m.rule for m in rules.match(none)]
