"""Money amounts in folded text (en, ar, fa, zh, ja, ko, fr, de, es, pt, ru, tr, hi), in USD.

Works on :func:`rules.normalize.fold` output: lower case, ASCII digits, accents and Arabic
diacritics gone. Conversion rates are fixed approximations: amounts are compared with a
threshold (a billion dollars by default), not booked.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

from rules.normalize import fold

# Approximate USD value of one unit of each currency.
RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CNY": 0.14,
    "JPY": 0.0067,
    "KRW": 0.00072,
    "INR": 0.012,
    "SAR": 0.27,
    "AED": 0.27,
    "RUB": 0.011,
    "TRY": 0.03,
    "BRL": 0.18,
}

# Currency words (original spelling; folded below). Longest alternatives are tried first.
_CURRENCIES: dict[str, tuple[str, ...]] = {
    "USD": (
        "us$",
        "$",
        "usd",
        "us dollars",
        "us dollar",
        "us-dollar",
        "dollars",
        "dollar",
        "dólares estadounidenses",
        "dólares",
        "dólar",
        "dolar",
        "doları",
        "dolarlık",
        "dolara",
        "دولار",
        "دولارات",
        "الدولارات",
        "دولارًا",
        "دلار",
        "美元",
        "美金",
        "米ドル",
        "ドル",
        "달러",
        "долларов",
        "доллара",
        "доллар",
        "डॉलर",
    ),
    "EUR": (
        "€",
        "eur",
        "euros",
        "euro",
        "يورو",
        "欧元",
        "ユーロ",
        "유로",
        "евро",
        "avro",
        "avroluk",
    ),
    "CNY": ("元人民币", "人民币", "元", "rmb", "cny", "yuan", "يوان"),
    "JPY": ("円", "yen", "¥", "엔", "ين"),
    "KRW": ("원", "won", "krw", "₩"),
    "GBP": (
        "£",
        "gbp",
        "pounds",
        "pounds sterling",
        "sterling",
        "livres sterling",
        "libras esterlinas",
        "pfund",
        "جنيه استرليني",
        "英镑",
        "ポンド",
        "파운드",
        "фунтов стерлингов",
        "sterlin",
    ),
    "INR": ("₹", "inr", "rupees", "rupee", "rs", "rs.", "रुपये", "रुपए", "रुपया"),
    "SAR": ("ريال", "ريال سعودي", "sar", "riyals", "riyal", "rials saoudiens", "saudi riyals"),
    "AED": ("درهم", "aed", "dirhams", "dirham"),
    "RUB": ("рублей", "рубля", "руб", "руб.", "₽", "rub", "rubles", "roubles", "ruble", "rouble"),
    "TRY": ("lira", "liras", "lirası", "liralık", "tl", "₺", "turkish lira"),
    "BRL": ("r$", "brl", "reais"),
}

# Scale words with their multiplier.
_SCALES: dict[str, float] = {
    # en
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "trillions": 1e12,
    "tn": 1e12,
    "trn": 1e12,
    # fr / de / es / pt
    "milliard": 1e9,
    "milliards": 1e9,
    "mds": 1e9,
    "md": 1e9,
    "mrd": 1e9,
    "mrd.": 1e9,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "millionen": 1e6,
    "mio": 1e6,
    "mio.": 1e6,
    "billionen": 1e12,
    "mil millones": 1e9,
    "millones": 1e6,
    "millón": 1e6,
    "millon": 1e6,
    "millardos": 1e9,
    "billones": 1e12,
    "billón": 1e12,
    "mil milhões": 1e9,
    "milhões": 1e6,
    "milhão": 1e6,
    "bilhões": 1e9,
    "bilhão": 1e9,
    "trilhões": 1e12,
    # ru / tr
    "млн": 1e6,
    "миллионов": 1e6,
    "миллиона": 1e6,
    "млрд": 1e9,
    "миллиардов": 1e9,
    "миллиарда": 1e9,
    "миллиард": 1e9,
    "трлн": 1e12,
    "milyon": 1e6,
    "milyar": 1e9,
    "trilyon": 1e12,
    # ar / fa / hi
    "مليون": 1e6,
    "ملايين": 1e6,
    "مليار": 1e9,
    "مليارات": 1e9,
    "ملیارد": 1e9,
    "ميليارد": 1e9,
    "میلیارد": 1e9,
    "تريليون": 1e12,
    "ترليون": 1e12,
    "تريليونات": 1e12,
    "करोड़": 1e7,
    "crore": 1e7,
    "crores": 1e7,
    "cr": 1e7,
    "lakh crore": 1e12,
    "lakh crores": 1e12,
    "लाख करोड़": 1e12,
    "अरब": 1e9,
    "लाख": 1e5,
    "बिलियन": 1e9,
    "मिलियन": 1e6,
    # zh / ja / ko (written right after the number)
    "万亿": 1e12,
    "萬億": 1e12,
    "千亿": 1e11,
    "千億": 1e11,
    "百亿": 1e10,
    "百億": 1e10,
    "十亿": 1e9,
    "十億": 1e9,
    "亿": 1e8,
    "億": 1e8,
    "万": 1e4,
    "萬": 1e4,
    "兆": 1e12,
    "천억": 1e11,
    "백억": 1e10,
    "십억": 1e9,
    "억": 1e8,
    "조": 1e12,
    "만": 1e4,
}

# Vague amounts ("hundreds of billions of dollars"): phrase -> value in the currency that
# follows (USD when none follows).
_VAGUE: dict[str, float] = {
    "hundreds of billions": 1e11,
    "tens of billions": 1e10,
    "billions": 1e9,
    "a trillion": 1e12,
    "a billion": 1e9,
    "one billion": 1e9,
    "eine milliarde": 1e9,
    "un milliard": 1e9,
    "mil millones": 1e9,
    "um bilhão": 1e9,
    "один миллиард": 1e9,
    "bir milyar": 1e9,
    "plusieurs milliards": 1e9,
    "several billion": 1e9,
    "صدها میلیارد": 1e11,
    "میلیاردها": 1e9,
    "अरबों": 1e9,
    "सैकड़ों अरब": 1e11,
    "mehrere milliarden": 1e9,
    "varios miles de millones": 1e9,
    "trillions": 1e12,
    "billion-dollar": 1e9,
    "multibillion-dollar": 1e9,
    "multi-billion-dollar": 1e9,
    "مئات المليارات": 1e11,
    "عشرات المليارات": 1e10,
    "مليارات": 1e9,
    "مليار": 1e9,
    "تريليون": 1e12,
    "ترليون": 1e12,
    "des centaines de milliards": 1e11,
    "des dizaines de milliards": 1e10,
    "des milliards": 1e9,
    "hunderte milliarden": 1e11,
    "dutzende milliarden": 1e10,
    "milliarden": 1e9,
    "cientos de miles de millones": 1e11,
    "decenas de miles de millones": 1e10,
    "miles de millones": 1e9,
    "centenas de bilhões": 1e11,
    "bilhões": 1e9,
    "сотни миллиардов": 1e11,
    "десятки миллиардов": 1e10,
    "миллиарды": 1e9,
    "yüz milyarlarca": 1e11,
    "milyarlarca": 1e9,
    "数千亿": 1e11,
    "数百亿": 1e10,
    "上千亿": 1e11,
    "数千億": 1e11,
    "数百億": 1e10,
    "数兆": 1e12,
    "수천억": 1e11,
    "수백억": 1e10,
    "수십조": 1e13,
    "수조": 1e12,
}
# Vague phrases that only count with an explicit currency after them.
_VAGUE_NEEDS_CURRENCY = {"billions", "مليارات", "مليار", "milliarden", "bilhões", "trillions"}

_CONNECT = r"(?:(?:of|de|von|in|من|في) |d')?"
_RANGE = r" ?(?:-|to|a|à|bis|y|e|و|الي|او|or|~|〜|～) ?"
# A number; the look-behind sits after the first digit so the pattern starts with a digit
# (the regex engine then skips quickly to digits).
_NUM = (
    r"(?:\d(?<![\d.,]\d)\d{0,2}(?:[.,]\d{3})+(?:[.,]\d+)?|\d(?<![\d.,]\d)\d*(?:[.,]\d+)?)"
    r"(?![\d])"
)


def _alt(words: list[str], guard: str = "") -> str:
    """Alternation of folded words, longest first (then alphabetical: the pattern is the same
    in every process, whatever the hash seed); ``guard`` (a one-character negative class)
    is checked just after each word's first character (start-of-word, cheap to scan for)."""
    folded = sorted({fold(w) for w in words}, key=lambda w: (-len(w), w))
    if guard:
        return "|".join(re.escape(w[0]) + f"(?<!{guard}.)" + re.escape(w[1:]) for w in folded)
    return "|".join(re.escape(w) for w in folded)


_CUR_WORD: dict[str, str] = {fold(w): code for code, ws in _CURRENCIES.items() for w in ws}
_SCALE_WORD: dict[str, float] = {fold(w): v for w, v in _SCALES.items()}
_VAGUE_WORD: dict[str, float] = {fold(w): v for w, v in _VAGUE.items()}
_VAGUE_NEED = {fold(w) for w in _VAGUE_NEEDS_CURRENCY}

_CUR = _alt(list(_CUR_WORD))
_SCALE = _alt(list(_SCALE_WORD))
_PREFIX_CUR = _alt(["$", "€", "£", "¥", "₩", "₹", "₽", "₺"], "[a-z0-9]")
# Letter codes written before the number ("USD 5 billion", "Rs 10,000 crore", "R$ 14,7 bi"):
# found from the number's first digit (a lookbehind per code), so that the pattern starts with
# a digit and the regex engine skips letters in C; the code is added to the span afterwards.
_PREFIX_CODES = ["us$", "r$", "usd", "eur", "rmb", "inr", "rs", "rs.", "sar", "aed", "gbp", "brl"]
_CODE_LB = "|".join(
    f"(?<={re.escape(c)}{sp}\\d)" for c in sorted(_PREFIX_CODES, key=len) for sp in ("", " ")
)
_CODE_BEFORE = re.compile(
    "(?<![a-z0-9])(?:"
    + "|".join(re.escape(c) for c in sorted(_PREFIX_CODES, key=len, reverse=True))
    + ") ?$"
)
_NUM_AFTER_CODE = (
    rf"\d(?:{_CODE_LB})(?:\d{{0,2}}(?:[.,]\d{{3}})+(?:[.,]\d+)?|\d*(?:[.,]\d+)?)(?![\d])"
)
# Latin-letter words must end at a word boundary; CJK/Hangul ones need not.
_END = r"(?![a-z\u0600-\u06ff\u0400-\u04ff])"

_VAGUE_ALT = _alt(list(_VAGUE_WORD), "[a-z0-9\u0400-\u04ff]")

# Every vague phrase contains one of these (checked with ``in`` before the regex runs).
_VAGUE_GATE = tuple(
    fold(w)
    for w in (
        "billion",
        "trillion",
        "milliard",
        "milliarde",
        "millones",
        "bilh",
        "миллиард",
        "milyar",
        "مليار",
        "ملیارد",
        "میلیارد",
        "تريليون",
        "ترليون",
        "अरब",
        "亿",
        "億",
        "兆",
        "억",
        "조",
    )
)

_PATTERNS = [
    # $60 billion, US$ 60-65bn, € 20 Mrd.
    re.compile(
        rf"(?P<cur>{_PREFIX_CUR}) ?(?P<n1>{_NUM})(?:{_RANGE}(?:\$|€)?(?P<n2>{_NUM}))?"
        rf"(?: ?(?P<scale>{_SCALE}){_END})?"
    ),
    # USD 60 billion, Rs 10,000 crore, R$ 14,7 bilhões (the code is found before the number)
    re.compile(
        rf"(?P<n1>{_NUM_AFTER_CODE})(?:{_RANGE}(?P<n2>{_NUM}))?(?: ?(?P<scale>{_SCALE}){_END})?"
    ),
    # 60 مليار دولار, 800亿美元, 80 milliards de dollars, 50조 원, 65.000 millones de dólares
    re.compile(
        rf"(?P<n1>{_NUM})(?:{_RANGE}(?P<n2>{_NUM}))? ?(?:(?P<scale>{_SCALE}){_END} ?)?"
        rf"{_CONNECT}(?P<cur>{_CUR}){_END}"
    ),
    # hundreds of billions of dollars, مئات المليارات من الدولارات, 数千亿美元
    re.compile(rf"(?P<vague>{_VAGUE_ALT}){_END}(?: ?{_CONNECT}(?P<cur>{_CUR}){_END})?"),
    # German compounds: Milliardeninvestitionen, Milliarden-Euro-Projekt, milliardenschwere
    # (the span is the amount part only, so the rest of the word can be other evidence).
    re.compile(
        r"milliarden(?:-?(?:euro|dollar)-?)?(?=investition|projekt|ausgaben|programm|paket"
        r"|auftrag|vorhaben|ausbau|deal)|milliardenschwer(?:e[nmrs]?)?(?![a-z])"
    ),
]
_GATE_RX = re.compile("|".join(re.escape(w) for w in sorted(_VAGUE_GATE, key=len, reverse=True)))
# Per scale word: each vague phrase and offset at which the phrase can cover the word's first
# character (the phrase agrees with the word where they overlap).
_AROUND: dict[str, tuple[tuple[str, int], ...]] = {
    g: tuple(
        (p, k) for p in _VAGUE_WORD for k in range(len(p)) if p[k : k + len(g)] == g[: len(p) - k]
    )
    for g in _VAGUE_GATE
}
# Patterns that only run when the text contains one of these words (None: a digit).
_GATES: list[re.Pattern[str] | None] = [
    None,
    None,
    None,
    _GATE_RX,
    re.compile("milliarden"),
]
_DIGIT_RX = re.compile(r"\d")
_ASCII_DIGIT_RX = re.compile("[0-9]")  # = _DIGIT_RX on ASCII text, a faster test per character
_CODE_PATTERN = 1


@dataclass(frozen=True, slots=True)
class Amount:
    """A money amount found in folded text: its span and approximate value in USD."""

    start: int
    end: int
    usd: float
    currency: str


_SEP_RX = re.compile(r"[.,]")


def parse_number(text: str) -> float:
    """``65.000`` -> 65000, ``1,5`` -> 1.5, ``1,000.5`` -> 1000.5, ``2.5`` -> 2.5."""
    groups = _SEP_RX.split(text)
    if len(groups) == 1:
        return float(text)
    seps = _SEP_RX.findall(text)
    # Thousands grouping: every group after the first has exactly 3 digits.
    if all(len(g) == 3 for g in groups[1:]) and len(set(seps)) == 1:
        return float("".join(groups))
    # Mixed: the last separator is the decimal one.
    int_part = "".join(groups[:-1])
    return float(f"{int_part}.{groups[-1]}")


_VAGUE_PATTERN = 3


def _vague_matches(
    pattern: re.Pattern[str], folded: str, first: int = 0
) -> Iterator[re.Match[str]]:
    """The vague pattern's matches, searched only in a window around each scale word (every
    vague phrase contains one, at most 32 characters in): the same matches as ``finditer``,
    several times faster, since the pattern can start on almost any letter. ``first``: where
    the first scale word is, if known (no scale word before it)."""
    last = 0
    for g in _GATE_RX.finditer(folded, first):
        at = g.start()
        if at < last:
            continue
        # A match around this scale word spells a whole vague phrase over it: look for one
        # first (a few startswith calls; "plans billion hardware" has none).
        for p, k in _AROUND[g.group()]:
            if k <= at and folded.startswith(p, at - k):
                break
        else:
            continue
        start = max(last, at - 32)
        for m in pattern.finditer(folded, start, min(len(folded), g.end() + 40)):
            if m.start() <= g.start() < m.end():
                last = m.end()
                yield m
                break


def find_amounts(folded: str) -> list[Amount]:
    """Every money amount in ``folded`` (output of :func:`fold`), left to right."""
    found: list[Amount] = []
    starts: list[int] = []  # spans already taken (disjoint, so ends sort like starts)
    ends: list[int] = []
    digits = (_ASCII_DIGIT_RX if folded.isascii() else _DIGIT_RX).search(folded) is not None
    first_scale = _GATE_RX.search(folded)
    if first_scale is None and not digits:
        return found  # no number, no scale word (nor "milliarden", which holds one): no amount
    for k, pattern in enumerate(_PATTERNS):
        gate = _GATES[k]
        if gate is None:
            if not digits:
                continue  # every number pattern starts with a digit
        elif gate is _GATE_RX:
            if first_scale is None:
                continue  # no scale word at all: no vague amount (cheap C-level check)
        elif gate.search(folded) is None:
            continue
        matches = (
            _vague_matches(pattern, folded, first_scale.start())
            if k == _VAGUE_PATTERN and first_scale is not None
            else pattern.finditer(folded)
        )
        for m in matches:
            s, e = m.span()
            i = bisect_left(starts, e)
            if i and ends[i - 1] > s:
                continue  # overlaps an amount found by an earlier pattern
            groups = m.groupdict()
            cur_word = groups.get("cur")
            if k == _CODE_PATTERN:
                code_m = _CODE_BEFORE.search(folded, max(0, s - 5), s)
                if code_m is None:
                    continue
                s, cur_word = code_m.start(), code_m.group().strip()
            code = _CUR_WORD.get(cur_word, "USD") if cur_word else "USD"
            if k == len(_PATTERNS) - 1:
                value = 1e9  # at least one billion (euros or dollars: counted as dollars)
            elif groups.get("vague"):
                vague = groups["vague"]
                if not cur_word and vague in _VAGUE_NEED:
                    continue
                value = _VAGUE_WORD[vague]
            else:
                try:
                    value = max(parse_number(groups["n1"]), parse_number(groups["n2"] or "0"))
                except ValueError:
                    continue
                scale = groups.get("scale")
                if scale:
                    value *= _SCALE_WORD[scale]
            found.append(Amount(s, e, value * RATES[code], code))
            j = bisect_left(starts, s)
            starts.insert(j, s)
            ends.insert(j, e)
    found.sort(key=lambda a: a.start)
    return found
