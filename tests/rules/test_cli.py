"""``watcher match`` and ``watcher rules check|eval|backtest``, in-process with CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from storage.models import NewArticle
from storage.sqlite import open_store
from tests.support.servers import LocalHTTPServer, Route
from watcher.cli import main

HTML = """<!doctype html><html lang="en"><head><title>Meta ships Llama 4</title></head>
<body><nav><a href="/">Home</a> <a href="/tech">Tech</a></nav>
<article><h1>Meta ships Llama 4</h1>
<p>Meta released Llama 4 Scout, an open-weight model that runs on a single GPU, the company
said on Saturday. Engineers had worked on it for months and compared it with DeepSeek.</p>
<p>The company also said it will spend $65 billion this year on AI data centers and chips,
a sharp increase on last year, to train the next generation of its models.</p>
<p>Analysts said the plan puts pressure on rivals that are building their own clusters.</p>
</article><footer>Leave a comment. Back to top.</footer></body></html>"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "watcher.toml"
    cfg.write_text('[storage]\npath = "w.db"\n[rules]\npacks = ["default"]\n', encoding="utf-8")
    return cfg


def run(config: Path, *args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--config", str(config), *args], input=input)


def test_match_text_file_json(config: Path, tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text(
        "قال زوكربيرج إن ميتا ستنفق 60 مليار دولار على مراكز البيانات.\n"
        "ونموذج Llama 4 من ميتا ينافس ديبسيك في الذكاء الاصطناعي.",
        encoding="utf-8",
    )
    res = run(config, "match", "--format", "json", str(doc))
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["input"] == str(doc)
    rules = {m["rule"]: m for m in obj["matches"]}
    assert {"deepseek", "llama4", "capex"} <= set(rules)
    text = doc.read_text(encoding="utf-8")
    for m in obj["matches"]:
        for ev in m["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    assert rules["capex"]["amount_usd"] == pytest.approx(60e9)


def test_match_stdin_text_format(config: Path) -> None:
    res = run(config, "match", "-", input="DeepSeek released R1; a llama is 4 years old.")
    assert res.exit_code == 0, res.output
    assert "deepseek" in res.output and "llama4" not in res.output
    assert "'DeepSeek'" in res.output


def test_match_html_file_goes_through_extraction(config: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML, encoding="utf-8")
    res = run(config, "match", "--format", "json", str(page))
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["title"] == "Meta ships Llama 4"
    assert {"llama4", "capex", "deepseek"} <= {m["rule"] for m in obj["matches"]}


def test_match_url_and_missing_file(
    config: Path, http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    http_server.routes["/a"] = Route(HTML.encode())
    url = http_server.url("/a")
    missing = str(tmp_path / "nope.txt")
    res = run(config, "match", "--format", "json", url, missing)
    assert res.exit_code == 1
    first, second = (json.loads(line) for line in res.output.strip().splitlines())
    assert first["input"] == url and "llama4" in {m["rule"] for m in first["matches"]}
    assert second["input"] == missing and second["error"] and second["matches"] == []


def test_rules_check_ok_and_error(config: Path, tmp_path: Path) -> None:
    res = run(config, "rules", "check")
    assert res.exit_code == 0, res.output
    assert "deepseek" in res.output and "capex" in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'mine'\nnear = [['a'], ['b']]\n", encoding="utf-8")
    res = run(config, "rules", "check", str(bad))
    assert res.exit_code != 0
    assert str(bad) in res.output and "'mine'" in res.output and "within" in res.output


def test_rules_eval(config: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    lines = [
        {"text": "DeepSeek is here", "expect": ["deepseek"]},
        {"text": "ديبسيك هنا", "expect": ["deepseek"]},
        {"text": "A llama, 4 feet tall", "expect": []},
        {"text": "Llama 4 from Meta is an AI model", "expect": ["llama4"]},
    ]
    cases.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    res = run(config, "rules", "eval", str(cases))
    assert res.exit_code == 0, res.output
    assert "deepseek" in res.output and "F1=1.000" in res.output and "baseline" in res.output
    res = run(config, "rules", "eval", "--format", "json", str(cases))
    data = json.loads(res.output)
    assert data["rules"]["deepseek"]["f1"] == 1.0
    assert data["rules"]["deepseek"]["baseline"]["recall"] == 0.5
    assert run(config, "rules", "eval", "--min-f1", "0.9", str(cases)).exit_code == 0
    lines.append({"text": "nothing here", "expect": ["deepseek"]})
    cases.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    res = run(config, "rules", "eval", "--min-f1", "0.99", str(cases))
    assert res.exit_code == 1 and "line 5" in res.output


def test_rules_backtest(config: Path, tmp_path: Path) -> None:
    store = open_store(tmp_path / "w.db")
    now = datetime.now(UTC) - timedelta(hours=1)
    text = "Meta released Llama 4, an open AI model, and DeepSeek answered."
    store.record_article(
        NewArticle(
            url="https://example.org/a",
            canonical_url="https://example.org/a",
            source="s",
            title="Llama 4 is out",
            text=text,
        ),
        [],
        {},
        now,
    )
    store.close()
    res = run(config, "rules", "backtest", "--since", "2d", "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["articles"] == 1
    assert data["rules"]["llama4"]["matches"] == 1
    assert data["rules"]["llama4"]["gained"] == 1
    assert data["rules"]["llama4"]["samples"][0]["title"] == "Llama 4 is out"
    res = run(config, "rules", "backtest")
    assert res.exit_code == 0 and "llama4" in res.output
    assert run(config, "rules", "backtest", "--since", "soon").exit_code != 0
