"""Digest: grouping, each article once, muted notes, source health; golden files per format."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.models import Evidence, RuleMatch
from storage.models import FetchLogEntry, Mute, NewArticle, SourceDef
from storage.sqlite import SQLiteStore, open_store
from storage.urls import canonical_url
from watcher.digest import build_digest, period_for_date, render

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
NAMES = {"deepseek": "DeepSeek", "llama4": "Llama 4", "capex": "AI capital spending"}


def _match(rule: str, text: str, term: str, severity: str = "normal") -> RuleMatch:
    start = text.index(term)
    ev = Evidence(
        "text", start, start + len(term), term, term, text[max(0, start - 30) : start + 60]
    )
    return RuleMatch(rule, NAMES.get(rule, rule), severity, (), (ev,))  # type: ignore[arg-type]


def _article(n: int, source: str, title: str, text: str, lang: str) -> NewArticle:
    url = f"https://news.example/{source}/{n}?utm_source=rss"
    return NewArticle(
        url=url,
        canonical_url=canonical_url(url),
        source=source,
        title=title,
        text=text,
        published=NOW - timedelta(hours=n),
        language=lang,
    )


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = open_store(tmp_path / "digest.db")
    t0 = NOW - timedelta(hours=10)
    s.sync_sources(
        [
            SourceDef("ar-tech", "https://ar.example/feed", "feed"),
            SourceDef("en-wire", "https://en.example/feed", "feed"),
            SourceDef("broken", "https://broken.example/feed", "feed"),
        ],
        t0,
    )
    ar = "قالت ميتا إنها ستنفق 65 مليار دولار على مراكز البيانات، وإن نموذج Llama 4 سيقود السوق بعد صدمة ديبسيك."
    s.record_article(
        _article(1, "ar-tech", "ميتا تنفق 65 مليار دولار على الذكاء الاصطناعي", ar, "ar"),
        [
            _match("capex", ar, "65 مليار دولار", "high"),
            _match("llama4", ar, "Llama 4"),
            _match("deepseek", ar, "ديبسيك"),
        ],
        {"mail": ("capex", "llama4", "deepseek")},
        t0 + timedelta(hours=1),
    )
    en = "DeepSeek released a new open-weight reasoning model that rivals much larger systems."
    out = s.record_article(
        _article(2, "en-wire", "DeepSeek ships a new reasoning model", en, "en"),
        [_match("deepseek", en, "DeepSeek")],
        {"mail": ("deepseek",)},
        t0 + timedelta(hours=2),
    )
    s.add_article_source(out.article_id, "ar-tech", t0 + timedelta(hours=3))
    s.add_mute(Mute("rule", "llama4", t0, None))
    muted = "Meta said Llama 4 Scout is now available to more developers in Europe."
    s.record_article(
        _article(3, "en-wire", "Llama 4 Scout comes to Europe", muted, "en"),
        [_match("llama4", muted, "Llama 4")],
        {"mail": ("llama4",)},
        t0 + timedelta(hours=4),
        muted_rules=["llama4"],
    )
    for i in range(3):
        s.record_fetch(
            FetchLogEntry(
                "broken",
                "https://broken.example/feed",
                t0 + timedelta(hours=i),
                "error",
                503,
                "HTTP 503 Service Unavailable",
            )
        )
    s.record_fetch(
        FetchLogEntry("ar-tech", "https://ar.example/feed", t0, "ok", 200, items=5, new_items=1)
    )
    s.record_fetch(
        FetchLogEntry("en-wire", "https://en.example/feed", t0, "ok", 200, items=5, new_items=1)
    )
    return s


def test_digest_groups_each_article_once(store: SQLiteStore) -> None:
    d = build_digest(store, NOW - timedelta(days=1), NOW, NOW, PARIS, NAMES)
    assert [g.rule for g in d.groups] == ["capex", "deepseek"]
    assert d.article_count == 2
    [ar] = d.groups[0].items
    assert ar.rules == ("capex", "llama4", "deepseek") or set(ar.rules) == {
        "capex",
        "llama4",
        "deepseek",
    }
    [en] = d.groups[1].items
    assert en.also_reported_by == ("ar-tech",)
    assert [m.title for m in d.muted] == ["Llama 4 Scout comes to Europe"]
    assert [(s.name, s.state) for s in d.unhealthy_sources] == [("broken", "failing")]


def test_digest_period_excludes_other_days(store: SQLiteStore) -> None:
    start, end = period_for_date((NOW - timedelta(days=3)).date(), PARIS)
    d = build_digest(store, start, end, NOW, PARIS, NAMES)
    assert d.article_count == 0 and not d.muted


@pytest.mark.parametrize(
    "fmt,ext", [("text", "txt"), ("markdown", "md"), ("html", "html"), ("json", "json")]
)
def test_digest_golden(store: SQLiteStore, fmt: str, ext: str) -> None:
    d = build_digest(store, NOW - timedelta(days=1), NOW, NOW, PARIS, NAMES)
    out = render(d, fmt)  # type: ignore[arg-type]
    if fmt == "json":
        json.loads(out)
    if fmt == "html":
        assert "http://" not in out.replace("https://news.example", "") and "<script" not in out
    golden = GOLDEN / f"digest.{ext}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_digest_send_emails_the_digest_channels(
    store: SQLiteStore, tmp_path: Path, smtp_server: object
) -> None:
    from click.testing import CliRunner

    from watcher.cli import main

    cfg = tmp_path / "w.toml"
    cfg.write_text(
        f"""
[storage]
path = "digest.db"
[[alert]]
name = "mail"
kind = "email"
smtp = "{smtp_server.url}"
from = "watcher@example.org"
to = ["desk@example.org"]
[digest]
timezone = "Europe/Paris"
alerts = ["mail"]
""",
        encoding="utf-8",
    )
    store.close()
    day = (NOW - timedelta(hours=12)).astimezone(PARIS).date().isoformat()
    result = CliRunner().invoke(main, ["--config", str(cfg), "digest", "--date", day, "--send"])
    assert result.exit_code == 0, result.output
    assert "sent to mail" in result.output
    [mail] = smtp_server.messages  # type: ignore[attr-defined]
    msg = mail.message
    # the local (Paris) calendar day holds only the Arabic article; the next one is after midnight
    assert msg["Subject"] == f"AI News Watcher digest {day}: 1 article"
    assert mail.rcpt_tos == ["desk@example.org"]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "ميتا تنفق 65 مليار دولار" in text and "ميتا تنفق 65 مليار دولار" in html
    assert "<script" not in html and "src=" not in html  # no external resources


def test_hostile_titles_are_one_bounded_line(tmp_path: Path) -> None:
    s = open_store(tmp_path / "h.db")
    s.sync_sources([SourceDef("x", "https://x.example/feed", "feed")], NOW)
    text = "DeepSeek " + "model " * 50
    title = "Fake\r\n== Source health\r\n- all good\u202e" + "A" * 100_000
    s.record_article(
        _article(1, "x", title, text, "en"), [_match("deepseek", text, "DeepSeek")], {}, NOW
    )
    d = build_digest(s, NOW - timedelta(days=1), NOW + timedelta(seconds=1), NOW, PARIS, NAMES)
    [item] = d.groups[0].items
    assert "\n" not in item.title and "\r" not in item.title and "\u202e" not in item.title
    assert len(item.title) <= 300
    out = render(d, "text")
    assert not any(line.startswith("== Source health") for line in out.splitlines())
    s.close()


def test_an_older_article_that_newly_matches_is_in_the_digest_as_updated(tmp_path: Path) -> None:
    from storage.models import ArticleRevision

    s = open_store(tmp_path / "r.db")
    s.sync_sources([SourceDef("x", "https://x.example/feed", "feed")], NOW)
    text = "Orbital Labs opens a data center campus. " * 8
    before = NOW - timedelta(days=3)
    out = s.record_article(_article(1, "x", "Orbital campus", text, "en"), [], {}, before)
    new_text = text + "It will host models from DeepSeek."
    s.record_revision(
        ArticleRevision(out.article_id, "Orbital campus", new_text, "h"),
        [_match("deepseek", new_text, "DeepSeek")],
        {},
        NOW - timedelta(hours=2),
    )
    d = build_digest(s, NOW - timedelta(days=1), NOW, NOW, PARIS, NAMES)
    [item] = d.groups[0].items
    assert item.title == "(updated) Orbital campus" and item.rules == ("deepseek",)
    assert item.seen_at == NOW - timedelta(hours=2)
    s.close()
