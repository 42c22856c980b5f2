"""Pure URL canonicalisation and content fingerprints used for deduplication.

Both functions are total: they never raise, whatever text they are given.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

__all__ = [
    "MIN_HASH_CHARS",
    "TRACKING_PARAMS",
    "canonical_url",
    "content_hash",
    "redacted",
    "with_userinfo_of",
    "without_userinfo",
]

#: Query parameters that only track the reader and never select content (compared lower-case).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_hsenc",
        "_hsmi",
        "yclid",
        "twclid",
        "ref_src",
        "ref_url",
        "cmpid",
        "mkt_tok",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "smid",
        "sr_share",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset("0123456789abcdefABCDEF")
_PATH_SAFE = _UNRESERVED | frozenset("/:@!$&'()*+,;=")
_QUERY_SAFE = _UNRESERVED | frozenset("/:@!$'()*+,;=?")  # no "&": it separates parameters
_USERINFO_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*$")

#: Below this many characters of normalised text, :func:`content_hash` returns ``""``.
MIN_HASH_CHARS = 200


def _normalise_escapes(component: str, safe: frozenset[str]) -> str:
    """Percent-encoding in one canonical form: escapes of unreserved characters decoded, other
    escapes upper-cased, stray ``%`` and characters outside ``safe`` encoded as UTF-8."""
    out: list[str] = []
    i, n = 0, len(component)
    while i < n:
        ch = component[i]
        if ch == "%":
            if i + 2 < n and component[i + 1] in _HEX and component[i + 2] in _HEX:
                decoded = chr(int(component[i + 1 : i + 3], 16))
                out.append(
                    decoded if decoded in _UNRESERVED else "%" + component[i + 1 : i + 3].upper()
                )
                i += 3
                continue
            out.append("%25")
        elif ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _is_tracking(key: str) -> bool:
    name = _normalise_escapes(key, _UNRESERVED).lower()
    return name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _canonical_query(query: str) -> str:
    params: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if _is_tracking(key):
            continue
        params.append(
            (
                _normalise_escapes(key, _QUERY_SAFE - {"="}),
                eq + _normalise_escapes(value, _QUERY_SAFE),
            )
        )
    params.sort()
    return "&".join(k + v for k, v in params)


def _canonical_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return host


def _canonical_netloc(scheme: str, netloc: str) -> str | None:
    """``None`` when the authority cannot be understood (the caller then gives up)."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        host, rest = hostport[: end + 1].lower(), hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
        host = _canonical_host(host)
    if port:
        if not port.isascii() or not port.isdigit():
            return None
        port = str(int(port))
        if _DEFAULT_PORTS.get(scheme) == port:
            port = ""
    if not host:
        return None
    user = _normalise_escapes(userinfo, _USERINFO_SAFE) + at if at else ""
    return f"{user}{host}:{port}" if port else f"{user}{host}"


# URLs already in canonical form (the common case in feeds): http(s), a lower-case ASCII
# host, an optional port, a path of safe characters only; no query, fragment, escapes or
# whitespace. canonical_url returns them unchanged without parsing them.
_PLAIN_URL_RE = re.compile(
    r"(https?)://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::([1-9][0-9]{0,4}))?"
    r"/[A-Za-z0-9\-._~/:@!$&'()*+,;=]*"
)


def canonical_url(url: str) -> str:
    """The canonical form of ``url``, used to recognise the same article behind different links.

    Lower-cases scheme and host (IDNA hosts become punycode), drops default ports, the
    fragment and tracking parameters (``utm_*``, ``fbclid``, ... see :data:`TRACKING_PARAMS`),
    sorts the remaining query parameters, normalises percent-encoding and turns an empty path
    into ``/``. Anything that is not an absolute URL with a host is returned stripped.
    Idempotent: ``canonical_url(canonical_url(x)) == canonical_url(x)``.
    """
    plain = _PLAIN_URL_RE.fullmatch(url)
    if plain is not None and (plain[2] is None or plain[2] != _DEFAULT_PORTS[plain[1]]):
        return url
    return _canonical_url_parsed(url)


def _canonical_url_parsed(url: str) -> str:
    """:func:`canonical_url` the long way (also the reference for its fast path)."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
        scheme = parts.scheme.lower()
        if not scheme or not _SCHEME_RE.match(scheme) or not parts.netloc:
            return stripped
        netloc = _canonical_netloc(scheme, parts.netloc)
        if netloc is None:
            return stripped
        path = _normalise_escapes(parts.path, _PATH_SAFE) or "/"
        query = _canonical_query(parts.query)
        result = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    except (ValueError, UnicodeError):
        return stripped
    # Give up on inputs whose canonical form would not survive another round unchanged.
    try:
        if urlsplit(result).netloc != netloc:
            return stripped
    except ValueError:
        return stripped
    return result


# ASCII whitespace other than the space (str.split() and \s agree on every character).
_ASCII_WS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _normalise_text(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    # ASCII text with single spaces only (most feed text): the squash changes nothing but the
    # ends; the loop of C-level substring tests is ~8x cheaper than the regex substitution.
    if folded.isascii() and "  " not in folded:
        for ch in _ASCII_WS:
            if ch in folded:
                break
        else:
            return folded.strip()
    return " ".join(folded.split())  # = re.sub(r"\s+", " ", folded).strip()


def content_hash(title: str, text: str) -> str:
    """A fingerprint of an article's wording (NFKC, case-folded, whitespace collapsed, SHA-256).

    Returns ``""`` when the normalised text is shorter than :data:`MIN_HASH_CHARS` characters:
    a teaser or an empty body is no evidence that two articles are the same. The title takes
    part so that different articles behind one identical paywall or cookie text stay apart.
    """
    body = _normalise_text(text)
    if len(body) < MIN_HASH_CHARS:
        return ""
    payload = _normalise_text(title) + "\n" + body
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
#: A GUID at least this long (and not a plain number) is taken as unique across feeds.
GLOBAL_GUID_MIN_CHARS = 24


def guid_is_global(guid: str) -> bool:
    """Whether an item GUID identifies the story across feeds: a URL, a ``urn:`` or ``tag:``
    URI, a UUID, or a long token that is not a plain number. A short one ("1001", "post-17")
    is only unique within its feed: two feeds may both number their items, so such a GUID
    identifies a story only together with its source."""
    g = guid.strip()
    if "://" in g or g[:4].lower() in ("urn:", "tag:"):
        return True
    if _UUID_RE.search(g):
        return True
    return len(g) >= GLOBAL_GUID_MIN_CHARS and not g.isdigit()


_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/\s]*)@")


def redacted(text: str) -> str:
    """``text`` (a URL, or a message with URLs in it) fit to show in logs, errors, the fetch
    log and ``watcher sources``: the password of a URL becomes ``***``
    (``https://user:***@host/``), and userinfo without one (a token) becomes ``***`` whole.
    The userinfo is everything up to the last ``@`` before the path, so a password with
    ``@``, ``#`` or ``?`` in it is hidden too; an ``@`` in a path is left alone."""
    if "@" not in text:
        return text
    return _USERINFO.sub(_mask, text)


def _mask(m: re.Match[str]) -> str:
    user, colon, _ = m.group(2).partition(":")
    return f"{m.group(1)}{user}:***@" if colon else f"{m.group(1)}***@"


def without_userinfo(url: str) -> str:
    """``url`` without its userinfo (a base for resolving a document's links: the links
    must not carry the source's password). Parsed as a URL, so an ``@`` in a query or path
    is left alone."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def with_userinfo_of(old: str, new: str) -> str:
    """``new`` (where ``old`` moved for good) with ``old``'s userinfo when it is on the same
    host and has none of its own: the credentials that opened ``old`` went along (the
    ``Authorization`` header follows a redirect on the same origin, or from http to https on
    the same host), so the source must keep them to be fetched again."""
    if "@" not in old:
        return new
    try:
        o, n = urlsplit(old), urlsplit(new)
        same_host = (o.hostname, o.port) == (n.hostname, n.port) or (
            o.hostname == n.hostname
            and (o.scheme, o.port or 80) == ("http", 80)
            and (n.scheme, n.port or 443) == ("https", 443)
        )
    except ValueError:
        return new
    if not same_host or n.username is not None or o.username is None:
        return new
    userinfo = o.netloc.rpartition("@")[0]
    return n._replace(netloc=f"{userinfo}@{n.netloc}").geturl()
