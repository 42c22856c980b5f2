"""Property tests: whatever a feed puts in a title, email headers stay well-formed and the
subject keeps the (cleaned) title; chat titles never carry control characters."""

from __future__ import annotations

import tempfile
from email import message_from_bytes, policy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.alerts.helpers import NOW, content, make_config
from watcher.alerts.email import alert_message
from watcher.alerts.formats import render_ntfy
from watcher.alerts.payload import clean_line
from watcher.config import EmailAlert

_CH = make_config(
    Path(tempfile.gettempdir()),
    [{"name": "mail", "kind": "email", "from": "watcher@example.org", "to": ["a@example.org"]}],
).alerts[0]
assert isinstance(_CH, EmailAlert)

titles = st.text(
    alphabet=st.sampled_from(
        list("abc XYZ:<>@\r\n\t\x00\x0b\x85\u2028\u202e") + list("深度求索ميتا")
    )
    | st.characters(),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(titles)
def test_any_title_gives_well_formed_headers(title: str) -> None:
    msg = alert_message(_CH, content(title=clean_line(title) or "untitled"), NOW)
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0] for line in head.split(b"\r\n") if line and line[:1] not in b" \t"
    ]
    assert sorted(set(names)) == sorted(
        set(names)
        & {
            b"Subject",
            b"From",
            b"To",
            b"Date",
            b"Message-ID",
            b"Auto-Submitted",
            b"X-Mailer",
            b"MIME-Version",
            b"Content-Type",
        }
    )
    parsed = message_from_bytes(raw, policy=policy.default)
    expected = clean_line(f"[deepseek, capex] {clean_line(title) or 'untitled'}", 180)
    assert parsed["Subject"] == expected


@given(titles)
def test_clean_line_has_no_control_characters(title: str) -> None:
    out = clean_line(title)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in out)
    assert "\u2028" not in out and "\u202e" not in out
    assert clean_line(out) == out


@given(titles)
def test_ntfy_headers_are_always_sendable(title: str) -> None:
    for _, value in render_ntfy(content(title=title)).headers:
        value.encode("ascii")
        assert "\r" not in value and "\n" not in value
