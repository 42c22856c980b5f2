"""Skipping rules and nodes whose needed terms do not occur never changes a match."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Document, RuleSet, compile_rules, parse_rules

PACK = Path(__file__).resolve().parents[2] / "rules" / "packs" / "default.toml"


def ruleset(toml: str) -> RuleSet:
    return compile_rules(parse_rules(toml, "test.toml"))


def without_skipping(toml: str) -> RuleSet:
    """The same rules, every rule and node evaluated whatever occurs."""
    rs = ruleset(toml)
    rs._node_needs = {}
    rs._plan = [(rid, spec, frozenset()) for rid, spec, _ in rs._plan]
    return rs


def hits(rs: RuleSet, text: str) -> set[str]:
    return {m.rule for m in rs.match(Document(text=text))}


RULES = """
[[rule]]
id = "regex-not"
all = [{ regex = "note" }, { not = { terms = ["delta"] } }]

[[rule]]
id = "regex-only"
regex = "gpt-?\\\\d"

[[rule]]
id = "amount-only"
amount = true

[[rule]]
id = "any-open"
any = [{ terms = ["alpha"] }, { regex = "zeta\\\\d" }]

[[rule]]
id = "all-not"
all = [{ terms = ["alpha"] }, { not = { terms = ["beta"] } }]

[[rule]]
id = "near-pair"
near = [{ terms = ["spend"] }, { any = [{ terms = ["chips"] }, { terms = ["GPU"] }] }]
within = 4

[[rule]]
id = "vetoed"
terms = ["alpha"]
unless = { terms = ["omega"] }
unless_within = 2
"""


def test_rules_without_terms_are_still_evaluated() -> None:
    rs = ruleset(RULES)
    assert hits(rs, "nothing here") == set()
    assert hits(rs, "a note") == {"regex-not"}
    assert hits(rs, "a note on delta") == set()
    assert hits(rs, "GPT-4 launch") == {"regex-only"}
    assert hits(rs, "they paid $5 billion") == {"amount-only"}
    assert hits(rs, "zeta9") == {"any-open"}  # the regex side of an `any` needs no term


def test_requirements_per_node() -> None:
    rs = ruleset(RULES)
    assert hits(rs, "alpha") == {"any-open", "all-not", "vetoed"}
    assert "all-not" not in hits(rs, "alpha beta")
    assert "vetoed" not in hits(rs, "alpha omega")  # the veto's term occurs: evaluated
    assert "near-pair" in hits(rs, "we spend on GPU")
    assert "near-pair" not in hits(rs, "we spend on nothing")  # one set of two is missing
    needs = {rid: len(needed) for rid, _, needed in rs._plan}
    assert needs == {
        "all-not": 1,
        "amount-only": 0,
        "any-open": 0,
        "near-pair": 2,
        "regex-not": 0,
        "regex-only": 0,
        "vetoed": 1,
    }


# Words of the default pack's rules, contexts, vetoes and amounts, in several languages.
_WORDS = st.sampled_from(
    [
        "DeepSeek",
        "Deep Seek",
        "R1",
        "Llama 4",
        "LLaMA4",
        "Scout",
        "Maverick",
        "Meta",
        "meta-analysis",
        "Zuckerberg",
        "llama",
        "Gemini",
        "Google",
        "horoscope",
        "Grok",
        "grok",
        "xAI",
        "Musk",
        "Claude",
        "Anthropic",
        "Amazon",
        "rainforest",
        "AWS",
        "Mistral",
        "Stargate",
        "export controls",
        "chips",
        "Nvidia",
        "Microsoft",
        "Alibaba",
        "Qwen",
        "AI",
        "data centers",
        "will spend",
        "invest",
        "capex",
        "raised",
        "oil",
        "gas",
        "market",
        "forecast",
        "$12 billion",
        "$500 million",
        "80 billion dollars",
        "billions of dollars",
        "Milliarden",
        "Rechenzentrumsausbau",
        "مليار دولار",
        "الذكاء الاصطناعي",
        "مراكز البيانات",
        "ديبسيك",
        "800亿美元",
        "数据中心",
        "投资",
        "データセンター",
        "투자",
        "the",
        "and",
        "said",
        ".",
        ";",
        ",",
        "\n",
    ]
)


def _pack() -> str:
    return PACK.read_text(encoding="utf-8")


FAST = ruleset(_pack())
SLOW = without_skipping(_pack())


@given(st.lists(_WORDS, max_size=30), st.lists(_WORDS, max_size=6))
@settings(max_examples=300, deadline=None)
def test_default_pack_same_results_with_and_without_skipping(
    words: list[str], title: list[str]
) -> None:
    doc = Document(text=" ".join(words), title=" ".join(title))
    assert FAST.match(doc) == SLOW.match(doc)


SMALL_FAST = ruleset(RULES)
SMALL_SLOW = without_skipping(RULES)
_SMALL_WORDS = st.sampled_from(
    [
        "alpha",
        "beta",
        "delta",
        "omega",
        "note",
        "GPT-4",
        "zeta9",
        "$5 billion",
        "spend",
        "chips",
        "GPU",
        "on",
        "the",
        "x",
    ]
)


@given(st.lists(_SMALL_WORDS, max_size=12))
@settings(max_examples=300, deadline=None)
def test_composed_rules_same_results_with_and_without_skipping(words: list[str]) -> None:
    doc = Document(text=" ".join(words))
    assert SMALL_FAST.match(doc) == SMALL_SLOW.match(doc)


def test_a_pickled_ruleset_is_compiled_again() -> None:
    """Worker processes receive the rule set pickled: its node-keyed tables must be its own."""
    import copy
    import pickle

    for loaded in (pickle.loads(pickle.dumps(FAST)), copy.deepcopy(FAST)):
        assert loaded.rule_ids == FAST.rule_ids
        roots = {id(spec.root) for spec in loaded.rules.values()}
        assert roots <= set(loaded._node_needs)  # every default rule needs a term
        assert not roots & set(FAST._node_needs)
        for text in ("DeepSeek will spend $12 billion on AI data centers", "Meta said Llama 4"):
            doc = Document(text=text, title="Nvidia and Microsoft AI")
            assert loaded.match(doc) == FAST.match(doc)
