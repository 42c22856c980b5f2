"""End to end with real servers: feed + page -> watcher poll -> SQLite -> webhook + email ->
digest. Once with the real Arabic seed article (shared corpus), once with our own fixture."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storage.sqlite import open_store
from tests.e2e.newsroom import LEFTOVER_MARKERS, NAV, serve_article, split_seed, write_config
from tests.support.servers import LocalHTTPServer, LocalSMTPServer, WebhookReceiver
from watcher.cli import main

SECRET = "e2e-secret"
OWN_TITLE = "ميتا تنفق 65 مليار دولار على مراكز البيانات وتتحدى ديبسيك بنموذج لاما 4"
OWN_BODY = [
    "قالت شركة ميتا إنها ستنفق ما يصل إلى 65 مليار دولار هذا العام على مراكز البيانات والرقائق "
    "اللازمة لتطوير الذكاء الاصطناعي.",
    "وأكد مارك زوكربيرغ أن نموذج Llama 4 سيكون في مقدمة السوق، في وقت أثارت فيه شركة ديبسيك "
    "الصينية قلق المستثمرين بنموذجها منخفض التكلفة.",
    "ويتوقع محللون أن تواصل الشركات الأمريكية الكبرى زيادة إنفاقها على البنية التحتية للحوسبة.",
]
OWN_LEFTOVERS = [
    "اترك تعليقاً",
    "لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *",
    "زر الذهاب إلى الأعلى",
]


def _poll(cfg: Path) -> str:
    result = CliRunner().invoke(
        main, ["--config", str(cfg), "poll"], env={"WATCHER_HOOK_SECRET": SECRET}
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _check_end_to_end(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    webhook: WebhookReceiver,
    smtp_server: LocalSMTPServer,
    title: str,
    body: list[str],
    leftovers: list[str],
) -> None:
    feed = serve_article(http_server, title, body, leftovers)
    cfg = write_config(tmp_path, feed, webhook.hook_url, smtp_server.url)

    _poll(cfg)

    store = open_store(tmp_path / "watcher.db")
    try:
        [article] = store.articles_between(*_wide_period())
        assert article.extraction == "fulltext"
        for marker in LEFTOVER_MARKERS + NAV:
            assert marker not in article.text, marker
        assert body[1][:40] in article.text
        rules = {m.rule for m in store.article_matches(article.id)}
        assert {"deepseek", "llama4", "capex"} <= rules

        # `watcher poll` leaves the new article queued for the search index; a search adds
        # it before searching
        def index_state() -> tuple[int, int]:
            return store.db.conn.execute(
                "SELECT (SELECT count(*) FROM fts_pending),"
                " (SELECT count(*) FROM articles_fts_docsize)"
            ).fetchone()

        assert index_state() == (1, 0)
        assert [a.id for a in store.search(title)] == [article.id]
        assert index_state() == (0, 1)
    finally:
        store.close()

    # the webhook received exactly one correctly signed alert
    [post] = webhook.posts()
    ts = post.headers["x-watcher-timestamp"]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + post.body, hashlib.sha256).hexdigest()
    assert post.headers["x-watcher-signature"] == "sha256=" + expected
    assert post.headers["x-watcher-delivery"]
    payload = json.loads(post.body)
    assert payload["article"]["title"] == title
    assert {"deepseek", "llama4", "capex"} <= {r["id"] for r in payload["rules"]}

    # one email whose subject keeps the Arabic title
    [mail] = smtp_server.messages
    assert title in str(mail.message["Subject"])
    assert mail.rcpt_tos == ["analyst@example.org"]

    # a second poll sends nothing
    _poll(cfg)
    assert len(webhook.posts()) == 1
    assert len(smtp_server.messages) == 1

    # the digest lists the article with its rules
    result = CliRunner().invoke(
        main,
        ["--config", str(cfg), "digest", "--since", "2d", "--format", "json"],
        env={"WATCHER_HOOK_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    digest = json.loads(result.output)
    titles = [a["title"] for g in digest["groups"] for a in g["articles"]]
    assert titles == [title]
    [item] = [a for g in digest["groups"] for a in g["articles"]]
    assert {"deepseek", "llama4", "capex"} <= set(item["rules"])


def _wide_period():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def test_end_to_end_with_the_real_arabic_seed_article(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    webhook: WebhookReceiver,
    smtp_server: LocalSMTPServer,
    seed_article: str,
) -> None:
    title, body, leftovers = split_seed(seed_article)
    assert leftovers, "the seed carries its page leftovers"
    _check_end_to_end(tmp_path, http_server, webhook, smtp_server, title, body, leftovers)


def test_end_to_end_with_our_own_arabic_fixture(
    tmp_path: Path,
    http_server: LocalHTTPServer,
    webhook: WebhookReceiver,
    smtp_server: LocalSMTPServer,
) -> None:
    _check_end_to_end(
        tmp_path, http_server, webhook, smtp_server, OWN_TITLE, OWN_BODY, OWN_LEFTOVERS
    )


@pytest.mark.slow
def test_demo_runs_offline() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    assert "webhook received 3 POST(s), 3 correctly signed" in out
    assert "polled 3 source(s) (0 failed); 4 new article(s)" in out
    assert "polled 3 source(s) (0 failed); 0 new article(s), 0 alert(s) queued" in out  # 2nd poll
    assert "ميتا ترفع إنفاقها" in out  # the Arabic demo article alerted
    assert "Llama farm" not in out.split("--- alerts")[1].split("webhook received")[0]


def test_search_finds_stored_articles_in_any_script(tmp_path: Path) -> None:
    keep = tmp_path / "demo"
    assert CliRunner().invoke(main, ["demo", "--keep", str(keep)]).exit_code == 0
    env = {"WATCHER_DEMO_SECRET": "x"}
    cfg = ["--config", str(keep / "demo.toml")]
    for query, title in (
        ("مراكز البيانات", "ميتا ترفع إنفاقها"),
        ("数据中心", "阿里巴巴"),
        ('"reasoning model"', "DeepSeek's new reasoning model"),
    ):
        result = CliRunner().invoke(main, [*cfg, "search", query], env=env)
        assert result.exit_code == 0, result.output
        assert title in result.output and "1 article(s)" in result.output, (query, result.output)
    result = CliRunner().invoke(main, [*cfg, "search", "--format", "json", "gardening"], env=env)
    assert json.loads(result.output) == []
