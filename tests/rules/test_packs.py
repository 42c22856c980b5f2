"""The built-in packs: they load, the seed article matches, the dev set scores, the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import CORE_RULES, PACK_FILES, Document, packs
from rules.evaluation import evaluate, naive_matcher, parse_cases, ruleset_matcher
from watcher.config import RulesConfig
from watcher.ruleload import RulesLoadError, load_rules_lazily, load_ruleset

DEV_SET = Path(__file__).resolve().parent.parent / "data" / "rules_dev.jsonl"


@pytest.fixture(scope="module")
def default_rules():  # type: ignore[no-untyped-def]
    return load_ruleset(RulesConfig())


def test_packs_load() -> None:
    assert set(packs) == set(PACK_FILES) >= {"default", "core", "ai-industry"}
    core = load_ruleset(RulesConfig(packs=("core",)))
    assert core.rule_ids == CORE_RULES
    industry = load_ruleset(RulesConfig(packs=("ai-industry",)))
    assert not set(industry.rule_ids) & set(CORE_RULES)
    assert {"openai", "anthropic", "nvidia", "export-controls"} <= set(industry.rule_ids)


def test_default_pack_has_core_and_watchlist(default_rules) -> None:  # type: ignore[no-untyped-def]
    assert set(CORE_RULES) <= set(default_rules.rule_ids)
    assert len(default_rules.rule_ids) >= 12


def test_unknown_pack() -> None:
    with pytest.raises(RulesLoadError, match="unknown pack"):
        load_ruleset(RulesConfig(packs=("nope",)))


def test_user_file_errors_name_file_rule_field(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[[rule]]\nid = 'x'\nterms = ['a']\nseverity = 'loud'\n", encoding="utf-8")
    with pytest.raises(RulesLoadError) as info:
        load_ruleset(RulesConfig(files=(f,)))
    assert (info.value.file, info.value.rule_id, info.value.field) == (str(f), "x", "severity")


def test_user_rule_overrides_pack_rule(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[[rule]]\nid = 'deepseek'\nterms = ['whale']\n", encoding="utf-8")
    rs = load_ruleset(RulesConfig(packs=("core",), files=(f,)))
    assert [m.rule for m in rs.match(Document(text="a whale"))] == ["deepseek"]


def test_lazy_rules_check_the_user_now_and_read_the_packs_on_first_use(tmp_path: Path) -> None:
    with pytest.raises(RulesLoadError, match="unknown pack"):  # the user's mistakes: at once
        load_rules_lazily(RulesConfig(packs=("nope",)))
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'x'\nterms = ['a']\nseverity = 'loud'\n", encoding="utf-8")
    with pytest.raises(RulesLoadError, match="severity"):
        load_rules_lazily(RulesConfig(files=(bad,)))
    mine = tmp_path / "mine.toml"
    mine.write_text("[[rule]]\nid = 'deepseek'\nterms = ['whale']\n", encoding="utf-8")
    lazy = load_rules_lazily(RulesConfig(files=(mine,)))
    assert lazy._merged is None  # a poll where every source answers 304 stops here
    eager = load_ruleset(RulesConfig(files=(mine,)))
    assert lazy.rule_ids == eager.rule_ids  # the packs, read now, with the override
    assert lazy.rules["deepseek"].origin == str(mine)
    assert lazy._merged is not None and lazy._compiled is None


def test_seed_article_matches_core_rules(default_rules, seed_article: str) -> None:  # type: ignore[no-untyped-def]
    found = {m.rule: m for m in default_rules.match(Document(text=seed_article))}
    assert set(CORE_RULES) <= set(found)
    assert found["capex"].amount_usd is not None and found["capex"].amount_usd >= 60e9
    for m in found.values():
        for ev in m.evidence:
            assert seed_article[ev.start : ev.end] == ev.text


def test_dev_set_f1_and_baseline(default_rules) -> None:  # type: ignore[no-untyped-def]
    cases = parse_cases(DEV_SET.read_text(encoding="utf-8").splitlines(), str(DEV_SET))
    assert len(cases) >= 200
    langs = {c.language for c in cases}
    assert {"en", "ar", "zh", "ja", "ko", "ru", "fa", "hi", "fr", "de", "es", "pt", "tr"} <= langs
    ours = {s.rule: s for s in evaluate(cases, ruleset_matcher(default_rules), CORE_RULES)}
    naive = {s.rule: s for s in evaluate(cases, naive_matcher(), CORE_RULES)}
    for rule in CORE_RULES:
        assert ours[rule].f1 >= 0.95, (rule, ours[rule].misses, ours[rule].false_alarms)
        assert ours[rule].f1 > naive[rule].f1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OpenAI's ChatGPT added memory", {"openai"}),
        ("أطلقت إنفيديا رقائق جديدة", {"nvidia"}),
        ("英伟达发布新芯片", {"nvidia"}),
        (
            "The US tightened export controls on Nvidia H20 chips to China",
            {"export-controls", "nvidia"},
        ),
        ("A meta-analysis of 12 trials", set()),
        ("The Amazon rainforest lost more trees", set()),
        ("Gemini is an air sign in astrology", set()),
        ("Google's Gemini 2.5 model tops the benchmark", {"google-ai"}),
    ],
)
def test_watchlist_examples(default_rules, text: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    found = {m.rule for m in default_rules.match(Document(text=text))} - set(CORE_RULES)
    assert found == expected


HELD_OUT = DEV_SET.parent / "rules_heldout.jsonl"
HELD_OUT_2 = DEV_SET.parent / "rules_heldout2.jsonl"


@pytest.mark.parametrize(
    ("path", "floor"),
    [
        # written by someone else; its misses were looked at once, see the closing note
        (HELD_OUT, 0.9),
        # written by a third person and never shown to whoever tunes the rules: the issue's
        # target (F1 >= 0.95 on an unseen set) as a regression floor
        (HELD_OUT_2, 0.95),
    ],
)
def test_held_out_sets_beat_the_baseline(default_rules, path, floor) -> None:  # type: ignore[no-untyped-def]
    """Independent held-out sets: a regression floor, and better than the naive baseline."""
    if not path.is_file():
        pytest.skip(f"no {path.name}")
    cases = parse_cases(path.read_text(encoding="utf-8").splitlines(), str(path))
    ours = {s.rule: s for s in evaluate(cases, ruleset_matcher(default_rules), CORE_RULES)}
    naive = {s.rule: s for s in evaluate(cases, naive_matcher(), CORE_RULES)}
    for rule in CORE_RULES:
        assert ours[rule].f1 >= floor, (rule, ours[rule].f1)
        assert ours[rule].f1 > naive[rule].f1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # capex whose AI subject is a lab or a model family
        (
            "Meta will spend $70 billion next year to train the models after Llama 4.",
            {"capex", "llama4"},
        ),
        ("Amazon invested $4 billion in Anthropic last year.", set()),  # a stake, not capex
        # explicit capex vocabulary and currencies
        ("Компания удвоит капзатраты на ИИ-инфраструктуру.", {"capex"}),
        ("Şirket yapay zeka için yatırım harcamalarını artırdı.", {"capex"}),
        ("Investirá R$ 20 bilhões em data centers de IA no Brasil.", {"capex"}),
        ("Investirá R$ 20 bilhões em novas refinarias.", set()),
        # German compounds
        ("Milliardeninvestitionen in neue KI-Rechenzentren", {"capex"}),
        ("Milliardeninvestitionen in neue Autobahnen", set()),
        # market-size forecasts are not spending
        ("The AI chip market could be worth $500 billion by 2028.", set()),
        # llama4
        ("Meta's Behemoth model is still training.", {"llama4"}),
        ("The Behemoth roller coaster closed for repairs.", set()),
        ("新的Ｌｌａｍａ ４发布了。", {"llama4"}),
        ("La niña llama 4 veces a su madre.", set()),
    ],
)
def test_core_examples(default_rules, text: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    found = {m.rule for m in default_rules.match(Document(text=text))} & {"capex", "llama4"}
    assert found == expected
