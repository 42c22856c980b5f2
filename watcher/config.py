"""Configuration: one TOML file parsed once, at the edge, into frozen dataclasses.

Every mistake (unknown key, bad value, missing secret) is collected and reported together with
the file, the key and the reason, before anything runs. Secrets are read from the environment
(``env:NAME``), systemd credentials (``cred:NAME``) or a file (``file:/path``) and are never
shown by ``repr``/``str``.
"""

from __future__ import annotations

import glob
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.urls import redacted
from watcher.errors import ConfigError, ConfigProblem

SourceKind = Literal["feed", "page", "sitemap"]
WebhookFormat = Literal["json", "slack", "discord", "teams", "ntfy"]
SEVERITIES = ("low", "normal", "high")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> float:
    """``"90s"``, ``"15m"``, ``"6h"``, ``"2d"``, ``"1w"`` -> seconds. Raises ValueError."""
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration like '90s', '15m', '6h' or '2d'")
    return float(m.group(1)) * _UNITS[m.group(2)]


class Secret:
    """A secret value that never prints itself."""

    __slots__ = ("_value", "ref")

    def __init__(self, value: str, ref: str) -> None:
        self._value = value
        self.ref = ref

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.ref!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class StorageConfig:
    path: Path


@dataclass(frozen=True)
class SourceConfig:
    name: str
    url: str
    kind: SourceKind = "feed"
    every: float = 900.0  # seconds; with ``auto`` the starting interval
    auto: bool = False  # adaptive interval from the observed publishing rate
    min_every: float = 300.0
    max_every: float = 86400.0
    fulltext: bool = True
    language: str | None = None  # hint, when the source does not say
    # folder path for people's own organisation (OPML outlines): ("AI labs", "China")
    category: tuple[str, ...] = ()

    @property
    def fetches_pages(self) -> bool:
        """Whether its articles come from their pages (page and sitemap sources, full-text
        feeds) rather than from the feed's own text."""
        return self.kind != "feed" or self.fulltext


@dataclass(frozen=True)
class RulesConfig:
    packs: tuple[str, ...] = ("default",)
    files: tuple[Path, ...] = ()  # already expanded from the configured globs
    capex_threshold_usd: float = 1e9


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = "ai-news-watcher/0.1 (+https://github.com/ai-news-watcher/ai-news-watcher)"
    timeout: float = 20.0  # whole request, seconds
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_connections: int = 32
    per_host: int = 2
    backoff_cap: float = 6 * 3600.0
    respect_robots: bool = True
    jitter: float = 0.1  # fraction of the interval


@dataclass(frozen=True)
class AlertCommon:
    """Options every channel has."""

    name: str
    rules: tuple[str, ...] | None = None  # None: all rules
    min_severity: str = "low"
    throttle_per_hour: int = 20
    quiet_hours: tuple[time, time] | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    retry_horizon: float = 24 * 3600.0


@dataclass(frozen=True)
class WebhookAlert(AlertCommon):
    kind: Literal["webhook"] = "webhook"
    url: str = field(default="", repr=False)  # may come from a secret (chat webhook URLs)
    secret: Secret | None = None
    format: WebhookFormat = "json"
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class EmailAlert(AlertCommon):
    kind: Literal["email"] = "email"
    host: str = "127.0.0.1"
    port: int = 25
    security: Literal["starttls", "ssl", "none"] = "starttls"  # starttls: when offered
    username: Secret | None = None
    password: Secret | None = None
    from_addr: str = ""
    to: tuple[str, ...] = ()
    timeout: float = 30.0


@dataclass(frozen=True)
class LogAlert(AlertCommon):
    """Prints alerts to the log (the default until a real channel is configured)."""

    kind: Literal["log"] = "log"


AlertConfig = WebhookAlert | EmailAlert | LogAlert


@dataclass(frozen=True)
class DigestConfig:
    at: time = time(8, 0)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path | None  # the file it came from; None for the built-in default
    storage: StorageConfig
    sources: tuple[SourceConfig, ...]
    rules: RulesConfig
    alerts: tuple[AlertConfig, ...]
    digest: DigestConfig
    fetch: FetchConfig

    def alert(self, name: str) -> AlertConfig:
        for a in self.alerts:
            if a.name == name:
                return a
        raise KeyError(name)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


# ----------------------------------------------------------------------------------------------
# Parsing


class _Reader:
    """Collects problems while reading one TOML document."""

    def __init__(self, file: str, env: Mapping[str, str], base: Path) -> None:
        self.file = file
        self.env = env
        self.base = base
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(ConfigProblem(self.file, key, reason))

    def table(self, data: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.problem(key, f"must be a table, got {type(data).__name__}")
            return {}
        for k in data:
            if k not in allowed:
                hint = _closest(k, allowed)
                self.problem(
                    f"{key}.{k}" if key else k,
                    "unknown key" + (f" (did you mean {hint!r}?)" if hint else ""),
                )
        return data

    def get(
        self,
        data: dict[str, Any],
        key: str,
        prefix: str,
        typ: type | tuple[type, ...],
        default: Any,
    ) -> Any:
        if key not in data:
            return default
        value = data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            self.problem(f"{prefix}.{key}", f"must be {names}, got {value!r}")
            return default
        return value

    def duration(self, data: dict[str, Any], key: str, prefix: str, default: float) -> float:
        raw = self.get(data, key, prefix, (str, int, float), None)
        if raw is None:
            return default
        if isinstance(raw, bool):
            self.problem(f"{prefix}.{key}", f"must be a duration like '15m', got {raw!r}")
            return default
        if isinstance(raw, int | float):
            if raw <= 0:
                self.problem(f"{prefix}.{key}", "must be positive")
                return default
            return float(raw)
        try:
            seconds = parse_duration(raw)
        except ValueError as exc:
            self.problem(f"{prefix}.{key}", str(exc))
            return default
        if seconds <= 0:
            self.problem(f"{prefix}.{key}", "must be longer than zero")
            return default
        return seconds

    def clock(self, value: Any, key: str) -> time | None:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                return time(int(m.group(1)), int(m.group(2)))
        self.problem(key, f"must be a time of day like '08:00', got {value!r}")
        return None

    def zone(self, value: Any, key: str) -> ZoneInfo:
        if isinstance(value, str):
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        self.problem(key, f"unknown time zone {value!r} (use an IANA name like 'Europe/Paris')")
        return ZoneInfo("UTC")

    def secret(self, value: Any, key: str) -> Secret | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(key, "must be a string such as 'env:NAME'")
            return None
        return resolve_secret(value, key, self.env, self.problem)

    def name(self, t: dict[str, Any], key: str, index: int, what: str, seen: set[str]) -> str:
        """The required, unique ``name`` of a [[source]] or [[alert]] table."""
        name: str | None = self.get(t, "name", key, str, None)
        if name is None:
            self.problem(f"{key}.name", "is required")
            return f"{what}-{index}"
        if not _NAME.match(name):
            self.problem(f"{key}.name", "use letters, digits, '.', '_' or '-' (max 64)")
        elif name in seen:
            self.problem(f"{key}.name", f"duplicate {what} name {name!r}")
        seen.add(name)
        return name

    def http_url(self, value: str, key: str) -> None:
        """Report ``value`` unless it is an absolute http(s) URL with a host."""
        if not _is_http_url(value):
            self.problem(key, f"must be an http(s) URL with a host, got {redacted(value)!r}")

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base / p


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def resolve_secret(
    ref: str, key: str, env: Mapping[str, str], problem: Callable[[str, str], None]
) -> Secret | None:
    """Resolve ``env:NAME``, ``cred:NAME`` (systemd ``LoadCredential=``) or ``file:PATH``.
    A literal value is accepted too (for local testing) but ``env:`` is recommended."""
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in env:
            problem(key, f"environment variable {name} is not set")
            return None
        return Secret(env[name], ref)
    if ref.startswith("cred:"):
        name = ref[5:]
        directory = env.get("CREDENTIALS_DIRECTORY")
        if not directory:
            problem(key, f"credential {name}: CREDENTIALS_DIRECTORY is not set (LoadCredential=)")
            return None
        cred = Path(directory) / name
        try:
            return Secret(cred.read_text().strip(), ref)
        except OSError as exc:
            problem(key, f"cannot read credential {name}: {exc.strerror}")
            return None
    if ref.startswith("file:"):
        try:
            return Secret(Path(ref[5:]).expanduser().read_text().strip(), ref)
        except OSError as exc:
            problem(key, f"cannot read secret file {ref[5:]}: {exc.strerror}")
            return None
    typo = re.match(r"^([A-Za-z]{2,6}):", ref)
    if typo:
        hint = _closest(typo.group(1).lower(), {"env", "cred", "file"})
        problem(
            key,
            f"unknown secret reference {typo.group(1)!r}:"
            + (f" (did you mean '{hint}:'?)" if hint else " use env:, cred: or file:"),
        )
        return None
    return Secret(ref, "literal")


def _closest(word: str, choices: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.7)
    return found[0] if found else None


_TOP = {"storage", "source", "rules", "alert", "digest", "fetch"}
_SECRET_PREFIXES = ("env:", "cred:", "file:")
_SOURCE_KEYS = {
    "name",
    "url",
    "kind",
    "every",
    "fulltext",
    "min_every",
    "max_every",
    "language",
    "category",
}
_COMMON_ALERT = {
    "name",
    "kind",
    "rules",
    "min_severity",
    "throttle",
    "quiet_hours",
    "timezone",
    "retry_horizon",
}
_WEBHOOK_KEYS = _COMMON_ALERT | {"url", "secret", "format", "timeout", "headers"}
_EMAIL_KEYS = _COMMON_ALERT | {"smtp", "from", "to", "user", "password", "timeout"}
_LOG_KEYS = _COMMON_ALERT
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file. Raises :class:`ConfigError` listing every problem."""
    env = os.environ if env is None else env
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), "-", f"cannot read: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), "-", "not UTF-8 text")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), "-", f"TOML syntax error: {exc}")]) from exc
    return parse_config(data, path=path, env=env)


def parse_config(
    data: Mapping[str, Any], *, path: Path | None, env: Mapping[str, str] | None = None
) -> Config:
    """Validate an already-parsed TOML mapping (see :func:`load_config`)."""
    env = os.environ if env is None else env
    base = path.parent.resolve() if path is not None else Path.cwd()
    r = _Reader(str(path) if path else "<default config>", env, base)
    top = r.table(dict(data), "", _TOP)

    storage = _storage(r, top.get("storage", {}))
    sources = _sources(r, top.get("source", []))
    rules = _rules(r, top.get("rules", {}))
    alerts = _alerts(r, top.get("alert", []))
    digest = _digest(r, top.get("digest", {}), alerts)
    fetch = _fetch(r, top.get("fetch", {}))
    if r.problems:
        raise ConfigError(r.problems)
    return Config(path, storage, sources, rules, alerts, digest, fetch)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("ai-news-watcher")) / "watcher.db"


def _storage(r: _Reader, data: Any) -> StorageConfig:
    t = r.table(data, "storage", {"path"})
    raw = r.get(t, "path", "storage", str, None)
    if raw is None:
        state = r.env.get("STATE_DIRECTORY")  # systemd StateDirectory=
        return StorageConfig(Path(state) / "watcher.db" if state else default_db_path())
    return StorageConfig(r.path(raw))


def _sources(r: _Reader, data: Any) -> tuple[SourceConfig, ...]:
    if not isinstance(data, list):
        r.problem("source", "must be an array of tables: [[source]]")
        return ()
    out: list[SourceConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        key = f"source[{i}]"
        t = r.table(item, key, _SOURCE_KEYS)
        url = r.get(t, "url", key, str, None)
        name = r.name(t, key, i, "source", seen)
        key = f"source[{name}]"
        if url is None:
            r.problem(f"{key}.url", "is required")
            url = ""
        else:
            r.http_url(url, f"{key}.url")
        kind = r.get(t, "kind", key, str, "feed")
        if kind not in ("feed", "page", "sitemap"):
            r.problem(f"{key}.kind", f"must be 'feed', 'page' or 'sitemap', got {kind!r}")
            kind = "feed"
        auto = t.get("every") == "auto"
        every = 900.0 if auto else r.duration(t, "every", key, 900.0)
        min_every = r.duration(t, "min_every", key, 300.0)
        max_every = r.duration(t, "max_every", key, 86400.0)
        if min_every > max_every:
            r.problem(f"{key}.min_every", "is larger than max_every")
        out.append(
            SourceConfig(
                name=name,
                url=url,
                kind=kind,
                every=every,
                auto=auto,
                min_every=min_every,
                max_every=max_every,
                fulltext=r.get(t, "fulltext", key, bool, True),
                language=r.get(t, "language", key, str, None),
                category=_category(r, t, key),
            )
        )
    return tuple(out)


def _category(r: _Reader, t: dict[str, Any], key: str) -> tuple[str, ...]:
    """``category = "AI labs"`` or a nested path ``category = ["AI labs", "China"]``."""
    raw = r.get(t, "category", key, (str, list), None)
    if raw is None:
        return ()
    parts = [raw] if isinstance(raw, str) else raw
    if not all(isinstance(p, str) and p.strip() for p in parts):
        r.problem(f"{key}.category", "must be a non-empty string or a list of non-empty strings")
        return ()
    return tuple(p.strip() for p in parts)


def _rules(r: _Reader, data: Any) -> RulesConfig:
    t = r.table(data, "rules", {"packs", "files", "capex_threshold_usd"})
    packs = r.get(t, "packs", "rules", list, ["default"])
    files = r.get(t, "files", "rules", list, [])
    paths: list[Path] = []
    for pattern in files:
        if not isinstance(pattern, str) or not pattern.strip():
            r.problem("rules.files", f"entries must be file paths or globs, got {pattern!r}")
            continue
        full = str(r.base / Path(pattern).expanduser())  # an absolute pattern stays absolute
        matched = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not matched:
            r.problem("rules.files", f"{pattern!r} matches no file")
        paths.extend(matched)
    if not all(isinstance(p, str) for p in packs):
        r.problem("rules.packs", "entries must be strings")
        packs = ["default"]
    threshold = r.get(t, "capex_threshold_usd", "rules", float, 1e9)
    return RulesConfig(tuple(packs), tuple(paths), threshold)


def _alert_common(r: _Reader, t: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    rules = r.get(t, "rules", key, list, None)
    if rules is not None and not all(isinstance(x, str) for x in rules):
        r.problem(f"{key}.rules", "entries must be rule ids (strings)")
        rules = None
    sev = r.get(t, "min_severity", key, str, "low")
    if sev not in SEVERITIES:
        r.problem(f"{key}.min_severity", f"must be one of {', '.join(SEVERITIES)}")
        sev = "low"
    throttle = r.get(t, "throttle", key, int, 20)
    if throttle < 0:
        r.problem(f"{key}.throttle", "must be >= 0 (0 disables throttling)")
    quiet = None
    raw_quiet = r.get(t, "quiet_hours", key, str, None)
    if raw_quiet is not None:
        parts = raw_quiet.split("-")
        if len(parts) != 2:
            r.problem(f"{key}.quiet_hours", f"must look like '22:00-07:00', got {raw_quiet!r}")
        else:
            start = r.clock(parts[0], f"{key}.quiet_hours")
            end = r.clock(parts[1], f"{key}.quiet_hours")
            if start is not None and end is not None:
                quiet = (start, end)
    zone = r.zone(t["timezone"], f"{key}.timezone") if "timezone" in t else ZoneInfo("UTC")
    return {
        "name": name,
        "rules": tuple(rules) if rules is not None else None,
        "min_severity": sev,
        "throttle_per_hour": throttle,
        "quiet_hours": quiet,
        "timezone": zone,
        "retry_horizon": r.duration(t, "retry_horizon", key, 24 * 3600.0),
    }


def _alerts(r: _Reader, data: Any) -> tuple[AlertConfig, ...]:
    if not isinstance(data, list):
        r.problem("alert", "must be an array of tables: [[alert]]")
        return ()
    out: list[AlertConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        key = f"alert[{i}]"
        if not isinstance(item, dict):
            r.problem(key, "must be a table")
            continue
        kind = item.get("kind")
        allowed = {"webhook": _WEBHOOK_KEYS, "email": _EMAIL_KEYS, "log": _LOG_KEYS}.get(
            kind if isinstance(kind, str) else ""
        )
        if allowed is None:
            r.problem(f"{key}.kind", f"must be 'webhook', 'email' or 'log', got {kind!r}")
            continue
        t = r.table(item, key, allowed)
        name = r.name(t, key, i, "alert", seen)
        key = f"alert[{name}]"
        common = _alert_common(r, t, key, name)
        if kind == "webhook":
            out.append(_webhook(r, t, key, common))
        elif kind == "email":
            out.append(_email(r, t, key, common))
        else:
            out.append(LogAlert(**common))
    return tuple(out)


def _webhook(r: _Reader, t: dict[str, Any], key: str, common: dict[str, Any]) -> WebhookAlert:
    url = r.get(t, "url", key, str, None)
    if url is None:
        r.problem(f"{key}.url", "is required")
        url = ""
    else:
        ref = url
        if ref.startswith(_SECRET_PREFIXES):  # chat webhook URLs are bearer secrets
            secret_url = r.secret(ref, f"{key}.url")
            url = secret_url.reveal() if secret_url else ""
            if secret_url and not _is_http_url(url):
                r.problem(f"{key}.url", f"{ref} does not hold an http(s) URL")
        else:
            r.http_url(url, f"{key}.url")
    fmt = r.get(t, "format", key, str, "json")
    if fmt not in ("json", "slack", "discord", "teams", "ntfy"):
        r.problem(f"{key}.format", "must be json, slack, discord, teams or ntfy")
        fmt = "json"
    headers = r.get(t, "headers", key, dict, {})
    for hk, hv in list(headers.items()):
        if not isinstance(hv, str) or any(c in f"{hk}{hv}" for c in "\r\n\x00"):
            r.problem(f"{key}.headers.{hk}", "must be a single-line string")
        elif hv.startswith(_SECRET_PREFIXES):  # e.g. Authorization = "env:HOOK_TOKEN"
            value = r.secret(hv, f"{key}.headers.{hk}")
            headers[hk] = value.reveal() if value else ""
    return WebhookAlert(
        **common,
        url=url,
        secret=r.secret(t.get("secret"), f"{key}.secret"),
        format=fmt,
        timeout=r.duration(t, "timeout", key, 10.0),
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
    )


def _email(r: _Reader, t: dict[str, Any], key: str, common: dict[str, Any]) -> EmailAlert:
    smtp = r.get(t, "smtp", key, str, "smtp://127.0.0.1:25")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    port = 25
    try:
        parts = urlsplit(smtp)
        explicit_port = parts.port
        valid = parts.scheme in ("smtp", "smtps") and bool(parts.hostname)
    except ValueError:
        parts, explicit_port, valid = urlsplit(""), None, False
    if not valid:
        r.problem(f"{key}.smtp", f"must be smtp://host[:port] or smtps://host[:port], got {smtp!r}")
    elif parts.scheme == "smtps":
        security, port = "ssl", explicit_port or 465
    else:
        port = explicit_port or 25
        if "tls=none" in parts.query:
            security = "none"
    if parts.username or parts.password:
        r.problem(f"{key}.smtp", "put credentials in 'user'/'password' as env: references")
    from_addr = r.get(t, "from", key, str, None)
    if not from_addr or "@" not in from_addr:
        r.problem(f"{key}.from", "is required and must be an email address")
        from_addr = from_addr or ""
    to = r.get(t, "to", key, (list, str), None)
    if isinstance(to, str):
        to = [to]
    if not to or not all(isinstance(x, str) and "@" in x for x in to):
        r.problem(f"{key}.to", "must be a list of email addresses")
        to = []
    for addr in [from_addr, *to]:
        if any(c in addr for c in "\r\n"):
            r.problem(f"{key}", "addresses must not contain line breaks")
    return EmailAlert(
        **common,
        host=unquote(parts.hostname or "127.0.0.1"),
        port=port,
        security=security,
        username=r.secret(t.get("user"), f"{key}.user"),
        password=r.secret(t.get("password"), f"{key}.password"),
        from_addr=from_addr,
        to=tuple(to),
        timeout=r.duration(t, "timeout", key, 30.0),
    )


def _digest(r: _Reader, data: Any, alerts: tuple[AlertConfig, ...]) -> DigestConfig:
    t = r.table(data, "digest", {"at", "timezone", "alerts"})
    at = r.clock(t["at"], "digest.at") if "at" in t else time(8, 0)
    zone = r.zone(t["timezone"], "digest.timezone") if "timezone" in t else ZoneInfo("UTC")
    names = r.get(t, "alerts", "digest", list, [])
    kinds = {a.name: a.kind for a in alerts}
    for a in names:
        if not isinstance(a, str):
            r.problem("digest.alerts", f"entries must be [[alert]] names, got {a!r}")
        elif a not in kinds:
            r.problem("digest.alerts", f"no [[alert]] named {a!r}")
        elif kinds[a] not in ("email", "log"):
            r.problem("digest.alerts", f"{a!r} is a {kinds[a]} channel; digests go to email or log")
    return DigestConfig(at or time(8, 0), zone, tuple(a for a in names if isinstance(a, str)))


def _fetch(r: _Reader, data: Any) -> FetchConfig:
    keys = {
        "user_agent",
        "timeout",
        "connect_timeout",
        "max_bytes",
        "max_connections",
        "per_host",
        "backoff_cap",
        "respect_robots",
        "jitter",
    }
    t = r.table(data, "fetch", keys)
    d = FetchConfig()
    cfg = FetchConfig(
        user_agent=r.get(t, "user_agent", "fetch", str, d.user_agent),
        timeout=r.duration(t, "timeout", "fetch", d.timeout),
        connect_timeout=r.duration(t, "connect_timeout", "fetch", d.connect_timeout),
        max_bytes=r.get(t, "max_bytes", "fetch", int, d.max_bytes),
        max_connections=r.get(t, "max_connections", "fetch", int, d.max_connections),
        per_host=r.get(t, "per_host", "fetch", int, d.per_host),
        backoff_cap=r.duration(t, "backoff_cap", "fetch", d.backoff_cap),
        respect_robots=r.get(t, "respect_robots", "fetch", bool, d.respect_robots),
        jitter=r.get(t, "jitter", "fetch", float, d.jitter),
    )
    for k in ("max_bytes", "max_connections", "per_host"):
        if getattr(cfg, k) < 1:
            r.problem(f"fetch.{k}", "must be at least 1")
    if not 0 <= cfg.jitter <= 0.5:
        r.problem("fetch.jitter", "must be between 0 and 0.5")
    return cfg


def check_rule_ids(config: Config, known: Collection[str]) -> None:
    """Report alert rule filters that name no loaded rule (a typo would silence the channel)."""
    file = str(config.path) if config.path else "<default config>"
    problems = []
    for a in config.alerts:
        for rule in a.rules or ():
            if rule not in known:
                hint = _closest(rule, set(known))
                problems.append(
                    ConfigProblem(
                        file,
                        f"alert[{a.name}].rules",
                        f"no rule {rule!r}" + (f" (did you mean {hint!r}?)" if hint else ""),
                    )
                )
    if problems:
        raise ConfigError(problems)
