"""The rule language and the matcher: variants, scripts, boundaries, context, composition."""

from __future__ import annotations

import pytest

from rules import Document, RuleSet, compile_rules, parse_rules


def ruleset(toml: str) -> RuleSet:
    return compile_rules(parse_rules(toml, "test.toml"))


def hits(rs: RuleSet, text: str, **kw: str) -> set[str]:
    return {m.rule for m in rs.match(Document(text=text, **kw))}


TERMS = ruleset(
    """
[[rule]]
id = "llama"
terms = ["Llama 4"]

[[rule]]
id = "ds"
terms = ["DeepSeek", "ديبسيك", "深度求索", "ディープシーク", "딥시크"]

[[rule]]
id = "stem"
terms = ["invest*"]

[[rule]]
id = "ai"
terms = ["الذكاء الاصطناعي"]
"""
)


@pytest.mark.parametrize(
    "text",
    [
        "Llama 4",
        "Llama-4",
        "Llama4",
        "LLaMA 4",
        "Llama-4-Scout-17B",
        "ＬＬａＭＡ　４",
        "Meta发布Llama 4模型",
        "(Llama 4)",
        "Llama 4's",
        "Llama_4",
    ],
)
def test_llama_variants_match(text: str) -> None:
    assert "llama" in hits(TERMS, text)


@pytest.mark.parametrize(
    "text", ["Llama 405B", "Llama 40", "Llama 4o", "Llama 3.4", "SuperLlama 4", "llama, 4"]
)
def test_llama_not_a_prefix_of_a_longer_token(text: str) -> None:
    assert "llama" not in hits(TERMS, text)


@pytest.mark.parametrize(
    "text",
    [
        "ديبسيك",
        "وديبسيك",
        "بديبسيك",
        "والديبسيك",
        "لديبسيك",
        "فبديبسيك",
        "ديـبـسيك",
        "دِيبسِيك",
        "ديبسيكها",
        "深度求索发布新模型",
        "中国的深度求索公司",
        "ディープシークが",
        "딥시크는",
        "딥시크가",
    ],
)
def test_scripts_and_arabic_prefixes(text: str) -> None:
    assert "ds" in hits(TERMS, text)


@pytest.mark.parametrize("text", ["مديبسيك", "xdeepseek", "deepseeks"])
def test_word_boundaries(text: str) -> None:
    assert "ds" not in hits(TERMS, text)


def test_arabic_article_variant_after_lil() -> None:
    assert "ai" in hits(TERMS, "استثمارات للذكاء الاصطناعي")
    assert "ai" in hits(TERMS, "والذكاء الإصطناعي")  # hamza variant folded


def test_katakana_boundary() -> None:
    rs = ruleset('[[rule]]\nid = "r"\nterms = ["ラマ"]\n')
    assert hits(rs, "ラマが来た") == {"r"}
    assert hits(rs, "ドラマが好き") == set()  # inside a longer katakana word


def test_hangul_start_boundary() -> None:
    rs = ruleset('[[rule]]\nid = "r"\nterms = ["라마"]\n')
    assert hits(rs, "라마는 동물이다") == {"r"}
    assert hits(rs, "드라마를 봤다") == set()


def test_stem() -> None:
    assert "stem" in hits(TERMS, "Investments rose")
    ev = TERMS.match(Document(text="Investments rose"))[0].evidence[0]
    assert ev.text == "Investments"


COMPOUNDS = ruleset(
    """
[[rule]]
id = "build"
terms = ["*ausbau"]

[[rule]]
id = "both"
near = [{ terms = ["Rechenzentr*"] }, { terms = ["*ausbau", "*investition*"] }]
within = 0
"""
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Der Rechenzentrumsausbau beginnt", {"build", "both"}),
        ("Der Ausbau beginnt", {"build"}),
        ("Rechenzentrumsinvestitionen steigen", {"both"}),
        ("Die Ausbauten beginnen", set()),  # '*ausbau' still ends the word
        ("Rechenzentren und der Netzausbau", {"build"}),  # two words apart: not within 0
    ],
)
def test_terms_inside_compound_words(text: str, expected: set[str]) -> None:
    assert hits(COMPOUNDS, text) == expected


def test_compound_evidence_is_the_matched_part() -> None:
    text = "Der Rechenzentrumsausbau beginnt"
    evidence = {ev.text for m in COMPOUNDS.match(Document(text=text)) for ev in m.evidence}
    assert evidence == {"ausbau", "Rechenzentrumsausbau"}  # the stem's evidence: whole word


def test_stem_distance_counts_words_not_word_tails() -> None:
    rs = ruleset(
        """
[[rule]]
id = "x"
near = [{ terms = ["invest*"] }, { terms = ["chips"] }]
within = 1
"""
    )
    assert hits(rs, "investments in chips") == {"x"}
    assert hits(rs, "investments in new chips") == set()


def test_evidence_points_into_original_text() -> None:
    text = "Ｔｈｅ  ﬁrst: وَبِديبسيك and Ｌｌａｍａ－４ here"
    for m in TERMS.match(Document(text=text, title="DeepSeek title")):
        for ev in m.evidence:
            src = text if ev.field == "text" else "DeepSeek title"
            assert src[ev.start : ev.end] == ev.text
            assert ev.snippet
    ds = next(m for m in TERMS.match(Document(text=text)) if m.rule == "ds")
    assert ds.evidence[0].text == "ديبسيك"


COMPOSED = ruleset(
    """
[entity.meta]
aliases = ["Meta Platforms"]
ambiguous = ["Meta"]
context = { terms = ["AI", "model", "Zuckerberg"] }
context_within = 8
exclude = ["meta-analysis", "metadata"]

[[rule]]
id = "meta"
entity = "meta"

[[rule]]
id = "both"
all = [{ terms = ["alpha"] }, { any = [{ terms = ["beta"] }, { terms = ["gamma"] }] }]

[[rule]]
id = "without"
all = [{ terms = ["alpha"] }, { not = { terms = ["delta"] } }]

[[rule]]
id = "near"
near = [{ terms = ["spend"] }, { terms = ["chips"] }]
within = 3

[[rule]]
id = "title-only"
terms = ["breaking"]
fields = ["title"]

[[rule]]
id = "arabic-only"
languages = ["ar"]
terms = ["alpha"]

[[rule]]
id = "rx"
regex = "gpt-?\\\\d+(\\\\.\\\\d+)?"

[[rule]]
id = "vetoed"
terms = ["alpha"]
unless = { terms = ["omega"] }
unless_within = 2
"""
)


def test_ambiguous_alias_needs_context() -> None:
    assert "meta" in hits(COMPOSED, "Meta released a new AI model")
    assert "meta" not in hits(COMPOSED, "Meta is a prefix in philosophy")
    assert "meta" in hits(COMPOSED, "Meta Platforms reported earnings")  # strong alias
    assert "meta" not in hits(COMPOSED, "A meta-analysis of AI model studies")
    assert "meta" not in hits(COMPOSED, "The metadata of the AI model")
    far = "Meta " + "word " * 20 + "AI"
    assert "meta" not in hits(COMPOSED, far)


def test_all_any_not() -> None:
    assert "both" in hits(COMPOSED, "alpha and gamma")
    assert "both" not in hits(COMPOSED, "alpha alone")
    assert "without" in hits(COMPOSED, "alpha here")
    assert "without" not in hits(COMPOSED, "alpha and delta")


def test_near_counts_words_and_cjk_characters() -> None:
    assert "near" in hits(COMPOSED, "we spend on chips")
    assert "near" not in hits(COMPOSED, "we spend on many new shiny chips")
    cjk = ruleset('[[rule]]\nid = "n"\nnear = [["投资"], ["芯片"]]\nwithin = 3\n')
    assert hits(cjk, "投资新芯片") == {"n"}
    assert hits(cjk, "投资了很多很多的芯片") == set()


def test_fields_and_languages() -> None:
    assert "title-only" in hits(COMPOSED, "nothing", title="Breaking news")
    assert "title-only" not in hits(COMPOSED, "breaking news")
    assert "arabic-only" in hits(COMPOSED, "alpha", language="ar")
    assert "arabic-only" not in hits(COMPOSED, "alpha", language="en")
    assert "arabic-only" in hits(COMPOSED, "alpha")  # unknown language: not filtered


def test_regex_runs_on_normalised_text() -> None:
    m = [m for m in COMPOSED.match(Document(text="Hello GPT-4.5 world")) if m.rule == "rx"]
    assert m and m[0].evidence[0].text == "GPT-4.5"


def test_unless_vetoes_nearby_occurrences_only() -> None:
    assert "vetoed" not in hits(COMPOSED, "alpha omega")
    assert "vetoed" in hits(COMPOSED, "alpha one two three four omega")


def test_results_sorted_and_complete() -> None:
    ms = COMPOSED.match(Document(text="alpha gamma, we spend on chips", title="Breaking"))
    assert [m.rule for m in ms] == sorted(m.rule for m in ms)
    assert all(m.evidence for m in ms)
    assert COMPOSED.rule_ids == tuple(sorted(COMPOSED.rules))


def test_empty_document() -> None:
    assert COMPOSED.match(Document(text="")) == []


def test_separator_only_where_the_term_has_one() -> None:
    rs = ruleset('[[rule]]\nid = "r"\nterms = ["DeepSeek", "Deep Seek V3"]\n')
    assert hits(rs, "divers go deep seek the wreck") == set()
    assert hits(rs, "DeepSeek and Deep-Seek V3") == {"r"}
    assert [e.text for m in rs.match(Document(text="Deep Seek V3")) for e in m.evidence] == [
        "Deep Seek V3"
    ]


CLOSER = ruleset(
    """
[[rule]]
id = "ai-money"
near = [
  { amount = true, unless = [{ terms = ["oil", "gas"], within = 8, closer_than = { terms = ["AI"] } }] },
  { terms = ["AI"] },
]
within = 15
"""
)


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("$50 billion in oil and gas; AI plans also announced", False),  # oil closer than AI
        ("$50 billion in AI, on top of oil and gas", True),  # AI closer
        ("oil: $50 billion in AI", True),  # equally close: the rival wins
        ("oil $50 billion; AI too", False),  # a clause break counts as a word
        ("$50 billion for AI; the oil majors spent less", True),
        ("$50 billion for chips, AI and the like", True),  # no sector word at all
    ],
)
def test_veto_closer_than_a_rival(text: str, hit: bool) -> None:
    assert ("ai-money" in hits(CLOSER, text)) is hit


CASED = ruleset(
    """
[entity.grok]
aliases = ["Grok 4"]
ambiguous = ["Grok", "Grok AI"]
capitalised = ["Grok"]
context = ["AI"]
context_within = 10

[[rule]]
id = "grok"
entity = "grok"
"""
)


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("Grok answers questions about AI", True),
        ("GROK answers questions about AI", True),
        ("I grok the idea of AI", False),  # the verb: lower case
        ("they grok 4 of the AI papers", True),  # an alias always counts, in any case
        ("the grok AI app and AI", True),  # only the listed alias needs its capital
    ],
)
def test_capitalised_ambiguous_aliases(text: str, hit: bool) -> None:
    assert ("grok" in hits(CASED, text)) is hit
