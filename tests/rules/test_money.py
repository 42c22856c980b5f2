"""Money amounts in many languages, normalised to approximate USD."""

from __future__ import annotations

import pytest

from rules.money import find_amounts, parse_number
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
    ],
)
def test_amounts(text: str, usd: float) -> None:
    found = find_amounts(fold(text))
    assert len(found) == 1, found
    assert found[0].usd == pytest.approx(usd, rel=1e-6)
    assert found[0].start == 0


@pytest.mark.parametrize(
    "text", ["400 billion parameters", "Llama 405B", "in 2025", "4 years old", "the billions"]
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
