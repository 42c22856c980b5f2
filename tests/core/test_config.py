"""Config parsing: the public keys, defaults, secrets and clear errors for every mistake."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from watcher.config import EmailAlert, Secret, WebhookAlert, load_config, parse_duration
from watcher.errors import ConfigError

FULL = """
[storage]
path = "data/watcher.db"

[[source]]
name = "techcrunch-ai"
url = "https://techcrunch.com/category/artificial-intelligence/feed/"
kind = "feed"
every = "15m"
fulltext = true

[[source]]
name = "listing"
url = "https://example.org/ai/"
kind = "page"
every = "auto"

[rules]
packs = ["default"]

[[alert]]
name = "team-hook"
kind = "webhook"
url = "https://hooks.example.org/watcher"
secret = "env:WATCHER_HOOK_SECRET"
rules = ["deepseek", "capex"]

[[alert]]
name = "team-mail"
kind = "email"
smtp = "smtp://127.0.0.1:2525"
from = "watcher@example.org"
to = ["analyst@example.org"]
quiet_hours = "22:00-07:00"
timezone = "Europe/Paris"

[digest]
at = "08:00"
timezone = "Europe/Paris"
alerts = ["team-mail"]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "watcher.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_full_config_parses_into_frozen_dataclasses(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={"WATCHER_HOOK_SECRET": "s3cret"})
    assert cfg.storage.path == tmp_path / "data" / "watcher.db"
    tc = cfg.source("techcrunch-ai")
    assert (tc.kind, tc.every, tc.fulltext, tc.auto) == ("feed", 900.0, True, False)
    assert cfg.source("listing").auto and cfg.source("listing").kind == "page"
    hook = cfg.alert("team-hook")
    assert isinstance(hook, WebhookAlert) and hook.rules == ("deepseek", "capex")
    assert isinstance(hook.secret, Secret) and hook.secret.reveal() == "s3cret"
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(hook)
    mail = cfg.alert("team-mail")
    assert isinstance(mail, EmailAlert)
    assert (mail.host, mail.port, mail.security) == ("127.0.0.1", 2525, "starttls")
    assert mail.quiet_hours == (time(22, 0), time(7, 0))
    assert cfg.digest.at == time(8, 0) and str(cfg.digest.timezone) == "Europe/Paris"
    with pytest.raises(AttributeError):
        cfg.storage = None  # type: ignore[misc]


def test_defaults_for_sources(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[[source]]\nname = "a"\nurl = "https://a.example/feed"\n'))
    s = cfg.sources[0]
    assert (s.kind, s.every, s.fulltext) == ("feed", 900.0, True)
    assert cfg.rules.packs == ("default",)


def test_every_mistake_is_reported_with_file_key_and_reason(tmp_path: Path) -> None:
    bad = """
[storage]
paht = "x.db"

[[source]]
name = "a"
url = "ftp://nowhere"
kind = "rss"
every = "soon"
fulltxt = false

[[source]]
name = "a"
url = "https://ok.example/feed"

[[alert]]
name = "hook"
kind = "webhook"
url = "https://h.example/"
secret = "env:MISSING_SECRET_VAR"

[[alert]]
name = "pager"
kind = "sms"

[digest]
at = "25:99"
timezone = "Mars/Olympus"
alerts = ["nobody"]
"""
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    problems = {(p.key, p.reason.split(" (")[0]) for p in err.value.problems}
    keys = {k for k, _ in problems}
    assert all(p.file == str(path) for p in err.value.problems)
    for expected in (
        "storage.paht",
        "source[a].url",
        "source[a].kind",
        "source[a].every",
        "source[0].fulltxt",
        "source[1].name",
        "alert[hook].secret",
        "alert[1].kind",
        "digest.at",
        "digest.timezone",
        "digest.alerts",
    ):
        assert expected in keys, (expected, sorted(keys))
    message = str(err.value)
    assert "did you mean 'path'" in message
    assert "did you mean 'fulltext'" in message
    assert "MISSING_SECRET_VAR is not set" in message


def test_toml_syntax_error_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOML syntax error"):
        load_config(write(tmp_path, "[storage\npath = 1"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_secrets_from_systemd_credentials_and_files(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "hook").write_text("from-credential\n")
    (tmp_path / "secret.txt").write_text("from-file")
    text = f"""
[[alert]]
name = "a"
kind = "webhook"
url = "https://h.example/"
secret = "cred:hook"
[[alert]]
name = "b"
kind = "webhook"
url = "https://h.example/"
secret = "file:{tmp_path / "secret.txt"}"
"""
    cfg = load_config(write(tmp_path, text), env={"CREDENTIALS_DIRECTORY": str(creds)})
    a, b = cfg.alerts
    assert isinstance(a, WebhookAlert) and a.secret and a.secret.reveal() == "from-credential"
    assert isinstance(b, WebhookAlert) and b.secret and b.secret.reveal() == "from-file"


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("6h") == 21600
    assert parse_duration("2d") == 172800
    with pytest.raises(ValueError):
        parse_duration("15 minutes")


def test_default_config_is_valid_and_multilingual() -> None:
    from watcher.defaults import default_config

    cfg = default_config({"STATE_DIRECTORY": "/var/lib/ai-news-watcher"})
    assert cfg.storage.path == Path("/var/lib/ai-news-watcher/watcher.db")
    langs = {s.language for s in cfg.sources}
    assert {"en", "ar", "zh", "ja"} <= langs
    assert [a.kind for a in cfg.alerts] == ["log"]


@pytest.mark.parametrize(
    "snippet,key",
    [
        ("[digest]\nalerts = [{}]\n", "digest.alerts"),
        (
            '[[alert]]\nname = "m"\nkind = "email"\nsmtp = "smtp://h:abc"\nfrom = "a@b.c"\nto = ["d@e.f"]\n',
            "alert[m].smtp",
        ),
        (
            '[[alert]]\nname = "m"\nkind = "email"\nsmtp = "smtp://h:99999"\nfrom = "a@b.c"\nto = ["d@e.f"]\n',
            "alert[m].smtp",
        ),
        ('[[source]]\nname = "s"\nurl = "http://[::1/x"\n', "source[s].url"),
        ('[[alert]]\nname = "h"\nkind = "webhook"\nurl = "http:/nohost"\n', "alert[h].url"),
        ('[rules]\nfiles = [""]\n', "rules.files"),
        ('[rules]\nfiles = ["/"]\n', "rules.files"),
        (
            '[[alert]]\nname = "h"\nkind = "webhook"\nurl = "https://h.example/"\nsecret = "emv:HOOK"\n',
            "alert[h].secret",
        ),
        ('[[source]]\nname = "s"\nurl = "https://a.example/f"\nevery = true\n', "source[s].every"),
        ('[[source]]\nname = "s"\nurl = "https://a.example/f"\nevery = "0s"\n', "source[s].every"),
        (
            '[[alert]]\nname = "h"\nkind = "webhook"\nurl = "https://h.example/"\ntimeout = "0s"\n',
            "alert[h].timeout",
        ),
        (
            '[[alert]]\nname = "h"\nkind = "webhook"\nurl = "https://h.example/"\nheaders = {X = "a\\r\\nB: c"}\n',
            "alert[h].headers.X",
        ),
        (
            '[[alert]]\nname = "h"\nkind = "webhook"\nurl = "https://h.example/"\n[digest]\nalerts = ["h"]\n',
            "digest.alerts",
        ),
    ],
)
def test_hostile_values_are_config_errors_not_crashes(
    tmp_path: Path, snippet: str, key: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, snippet), env={})
    assert key in {p.key for p in err.value.problems}, err.value


def test_alert_rule_filter_must_name_loaded_rules(tmp_path: Path) -> None:
    from watcher.config import check_rule_ids

    text = (
        '[[alert]]\nname = "h"\nkind = "webhook"\nurl = "https://h.example/"\nrules = ["deepsek"]\n'
    )
    cfg = load_config(write(tmp_path, text), env={})
    with pytest.raises(ConfigError, match="did you mean 'deepseek'"):
        check_rule_ids(cfg, {"deepseek", "llama4", "capex"})
    check_rule_ids(cfg, {"deepsek"})  # no error when it exists


def test_rule_files_glob_relative_and_absolute(tmp_path: Path) -> None:
    (tmp_path / "my-rules").mkdir()
    (tmp_path / "my-rules" / "a.toml").write_text("")
    (tmp_path / "my-rules" / "b.toml").write_text("")
    cfg = load_config(write(tmp_path, '[rules]\nfiles = ["my-rules/*.toml"]\n'))
    assert [p.name for p in cfg.rules.files] == ["a.toml", "b.toml"]
    cfg = load_config(write(tmp_path, f'[rules]\nfiles = ["{tmp_path}/my-rules/a.toml"]\n'))
    assert cfg.rules.files == (tmp_path / "my-rules" / "a.toml",)


def test_webhook_url_and_headers_can_be_secrets(tmp_path: Path) -> None:
    text = """
[[alert]]
name = "slack"
kind = "webhook"
format = "slack"
url = "env:SLACK_URL"
headers = { Authorization = "env:HOOK_TOKEN", X-Team = "ai" }
"""
    env = {"SLACK_URL": "https://hooks.slack.example/T0/B0/XYZsecret", "HOOK_TOKEN": "Bearer t0k"}
    cfg = load_config(write(tmp_path, text), env=env)
    hook = cfg.alert("slack")
    assert isinstance(hook, WebhookAlert)
    assert hook.url == env["SLACK_URL"]
    assert dict(hook.headers) == {"Authorization": "Bearer t0k", "X-Team": "ai"}
    assert "XYZsecret" not in repr(cfg) and "t0k" not in repr(cfg)
    with pytest.raises(ConfigError, match="does not hold an http"):
        load_config(write(tmp_path, text), env={**env, "SLACK_URL": "not-a-url"})


def test_watcher_init_writes_the_built_in_default(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from watcher.cli import main
    from watcher.defaults import default_config

    target = tmp_path / "watcher.toml"
    assert CliRunner().invoke(main, ["init", str(target)]).exit_code == 0
    env = {"STATE_DIRECTORY": str(tmp_path / "state")}
    written = load_config(target, env=env)
    built_in = default_config(env)
    assert written.sources == built_in.sources and written.alerts == built_in.alerts
    assert written.storage == built_in.storage and written.digest == built_in.digest
