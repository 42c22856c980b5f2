"""Money amounts in many languages, normalised to approximate USD."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.money import (
    _ASCII_DIGIT_RX,
    _DIGIT_RX,
    _GATE_RX,
    _PATTERNS,
    _VAGUE_PATTERN,
    _vague_matches,
    find_amounts,
    parse_number,
)
from rules.normalize import fold


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        ("$60 billion", 60e9),
        ("$60bn", 60e9),
        ("$60-65 billion", 65e9),
        ("US$1.5 trillion", 1.5e12),
        ("60 مليار دولار", 60e9),
        ("٦٠ مليار دولار", 60e9),
        ("مئات المليارات من الدولارات", 1e11),
        ("800亿美元", 80e9),
        ("3800亿元人民币", 3800e8 * 0.14),
        ("800億ドル", 80e9),
        ("1兆円", 1e12 * 0.0067),
        ("50조 원", 50e12 * 0.00072),
        ("100억 달러", 1e10),
        ("80 milliards de dollars", 80e9),
        ("109 milliards d'euros", 109e9 * 1.08),
        ("75 Milliarden Dollar", 75e9),
        ("65.000 millones de dólares", 65e9),
        ("65 mil millones de dólares", 65e9),
        ("80 bilhões de dólares", 80e9),
        ("80 млрд долларов", 80e9),
        ("80 milyar dolar", 80e9),
        ("80 अरब डॉलर", 80e9),
        ("hundreds of billions of dollars", 1e11),
        ("数千亿美元", 1e11),
        ("R$ 14,7 bilhões", 14.7e9 * 0.18),
        ("₹75,000 crore", 75000e7 * 0.012),
        ("Rs 10,000 crore", 10000e7 * 0.012),
        ("Rs. 1 lakh crore", 1e12 * 0.012),
        ("150 billion rubles", 150e9 * 0.011),
        ("120 млрд рублей", 120e9 * 0.011),
        ("SAR 40 billion", 40e9 * 0.27),
        ("40 مليار ريال", 40e9 * 0.27),
        ("20 billion dirhams", 20e9 * 0.27),
        ("£2bn", 2e9 * 1.27),
        ("2 milliards de livres sterling", 2e9 * 1.27),
        ("50 milyar TL", 50e9 * 0.03),
        ("10 milyar liralık", 10e9 * 0.03),
        ("5 milyar dolara", 5e9),
        ("USD 5 billion", 5e9),
        ("US$ 2 billion", 2e9),
        ("EUR 20bn", 20e9 * 1.08),
        ("30 à 50 milliards d'euros", 50e9 * 1.08),
        ("Milliardeninvestitionen", 1e9),
        ("Milliarden-Euro-Projekt", 1e9),
        ("milliardenschwere Investitionen", 1e9),
    ],
)
def test_amounts(text: str, usd: float) -> None:
    found = find_amounts(fold(text))
    assert len(found) == 1, found
    assert found[0].usd == pytest.approx(usd, rel=1e-6)
    assert found[0].start == 0


@pytest.mark.parametrize(
    "text",
    [
        "400 billion parameters",
        "Llama 405B",
        "in 2025",
        "4 years old",
        "the billions",
        "users 5 billion",
        "hers 2 trillion",
        "x$5 billion",
        "die Milliarden",
        "Milliardenstadt",
    ],
)
def test_not_amounts(text: str) -> None:
    assert [a for a in find_amounts(fold(text)) if a.usd >= 1e9] == []


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("65.000", 65000),
        ("1,000", 1000),
        ("1.5", 1.5),
        ("2,5", 2.5),
        ("1,000.5", 1000.5),
        ("1.000,5", 1000.5),
        ("60", 60),
    ],
)
def test_parse_number(raw: str, value: float) -> None:
    assert parse_number(raw) == value


@given(
    st.lists(
        st.sampled_from(
            [
                "$",
                "R$",
                "Rs",
                "usd",
                "US$",
                " ",
                "5",
                "1,5",
                "000",
                "-",
                " crore",
                " billion",
                "bilhões",
                "Milliarden",
                "investition",
                "млрд",
                "рублей",
                "亿",
                "美元",
                "a",
                "sar",
            ]
        ),
        max_size=12,
    )
)
@settings(max_examples=300)
def test_amount_spans_are_ordered_and_disjoint(parts: list[str]) -> None:
    text = fold("".join(parts))
    found = find_amounts(text)
    for a, b in pairwise(found):
        assert a.end <= b.start
    for a in found:
        assert 0 <= a.start < a.end <= len(text)
        assert a.usd >= 0


@given(
    st.lists(
        st.sampled_from(
            [
                "hundreds of ",
                "billions",
                " of dollars",
                "tens of ",
                "cientos de miles de ",
                "millones",
                "des centaines de ",
                "milliards",
                "数千",
                "亿",
                "美元",
                " ",
                "x",
                "mehrere ",
                "Milliarden",
                "a trillion",
                "مئات ",
                "المليارات",
                "billion-dollar",
            ]
        ),
        max_size=14,
    )
)
@settings(max_examples=300)
def test_windowed_vague_search_equals_full_search(parts: list[str]) -> None:
    text = fold("".join(parts))
    pattern = _PATTERNS[_VAGUE_PATTERN]
    expected = [m.span() for m in pattern.finditer(text)]
    assert [m.span() for m in _vague_matches(pattern, text)] == expected
    first = _GATE_RX.search(text)  # find_amounts starts the search at the first scale word
    if first is not None:
        assert [m.span() for m in _vague_matches(pattern, text, first.start())] == expected


_NEAR_AMOUNTS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "$",
                "€",
                "usd",
                "us$",
                "rs.",
                " dollars",
                "billionaire",
                "bil",
                "milliar",
                "million",
                "mil millon",
                "mrd",
                "bn",
                "亿",
                "兆",
                "مليار",
                "milliardenschwer",
                "trillion",
                "١",
                "٣",
                "x",
            ]
        ),
        st.text(max_size=4),
        st.integers(0, 99).map(str),
    ),
    max_size=10,
)


@given(_NEAR_AMOUNTS)
@settings(max_examples=500)
def test_no_digit_and_no_scale_word_means_no_amount_pattern_can_match(parts: list[str]) -> None:
    """find_amounts returns at once for such text: no pattern could have found anything."""
    text = fold(" ".join(parts))
    if _DIGIT_RX.search(text) is None and _GATE_RX.search(text) is None:
        assert all(p.search(text) is None for p in _PATTERNS)
        assert find_amounts(text) == []
    if text.isascii():  # the faster digit test used on ASCII text
        assert (_ASCII_DIGIT_RX.search(text) is None) == (_DIGIT_RX.search(text) is None)
