"""The built-in default configuration and the commented starter file ``watcher init`` writes.

With no config file, ``watcher run`` watches a curated list of real AI-news sources in several
languages, with the default rule packs, SQLite in the user's data directory, and alerts printed
to the log until a channel is configured.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from watcher.config import Config, parse_config

# name, url, language, kind; public feeds of AI and technology newsrooms.
CURATED_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("techcrunch-ai", "https://techcrunch.com/category/artificial-intelligence/feed/", "en"),
    ("theverge-ai", "https://www.theverge.com/rss/ai-artificial-intelligence/index.xml", "en"),
    ("venturebeat-ai", "https://venturebeat.com/category/ai/feed/", "en"),
    (
        "mit-tech-review-ai",
        "https://www.technologyreview.com/topic/artificial-intelligence/feed",
        "en",
    ),
    ("arstechnica-ai", "https://arstechnica.com/ai/feed/", "en"),
    ("openai-news", "https://openai.com/news/rss.xml", "en"),
    ("google-deepmind", "https://deepmind.google/blog/rss.xml", "en"),
    ("huggingface-blog", "https://huggingface.co/blog/feed.xml", "en"),
    ("nvidia-blog", "https://blogs.nvidia.com/feed/", "en"),
    ("aitnews-ar", "https://aitnews.com/feed/", "ar"),
    ("bbc-arabic", "https://feeds.bbci.co.uk/arabic/rss.xml", "ar"),
    ("ithome-zh", "https://www.ithome.com/rss/", "zh"),
    ("36kr-zh", "https://36kr.com/feed", "zh"),
    ("bbc-chinese", "https://feeds.bbci.co.uk/zhongwen/simp/rss.xml", "zh"),
    ("itmedia-aiplus-ja", "https://rss.itmedia.co.jp/rss/2.0/aiplus.xml", "ja"),
    ("aitimes-ko", "https://www.aitimes.com/rss/allArticle.xml", "ko"),
    ("habr-ai-ru", "https://habr.com/ru/rss/hub/artificial_intelligence/all/", "ru"),
    ("heise-de", "https://www.heise.de/rss/heise-atom.xml", "de"),
    ("lemonde-pixels-fr", "https://www.lemonde.fr/pixels/rss_full.xml", "fr"),
)


def _sources_toml() -> str:
    blocks = [
        f'[[source]]\nname = "{name}"\nurl = "{url}"\nlanguage = "{lang}"\n'
        for name, url, lang in CURATED_SOURCES
    ]
    return "\n".join(blocks)


STARTER_TOML = """\
# AI News Watcher configuration. Reference: README.md ("Configuration").
# Relative paths are relative to this file. Secrets: "env:NAME" (environment),
# "cred:NAME" (systemd LoadCredential=), "file:/path". Secrets are never logged.

[storage]
# path = "watcher.db"        # default: $STATE_DIRECTORY (systemd) or the user data directory

[rules]
packs = ["default"]          # built-in packs; see `watcher rules check` and docs/rules.md
# files = ["my-rules/*.toml"] # your own rule files

# Alerts are printed to the log until you configure a real channel below.
[[alert]]
name = "log"
kind = "log"

# [[alert]]
# name = "team-hook"
# kind = "webhook"
# url = "https://hooks.example.org/watcher"
# secret = "env:WATCHER_HOOK_SECRET"   # signs the body: X-Watcher-Signature
# format = "json"                      # json | slack | discord | teams | ntfy
# rules = ["deepseek", "capex"]        # optional: only these rules (default: all)

# [[alert]]
# name = "team-mail"
# kind = "email"
# smtp = "smtp://smtp.example.org:587" # STARTTLS when offered; smtps:// for TLS
# user = "env:WATCHER_SMTP_USER"
# password = "env:WATCHER_SMTP_PASSWORD"
# from = "watcher@example.org"
# to = ["analyst@example.org"]
# throttle = 20                        # at most 20 alerts an hour; the rest are batched
# quiet_hours = "22:00-07:00"          # held until they end (high severity excepted)
# timezone = "Europe/Paris"

[digest]
at = "08:00"
timezone = "UTC"
alerts = []                            # e.g. ["team-mail"]

# Sources: kind = "feed" (RSS/Atom/JSON Feed, default) | "page" (listing page) | "sitemap".
# every = "15m" (default) or "auto"; fulltext = true fetches and extracts each article page.
""" + _sources_toml()


def default_config(env: Mapping[str, str]) -> Config:
    """The configuration used when no file is given: exactly what ``watcher init`` writes
    (storage in the user's data directory, or ``$STATE_DIRECTORY`` under systemd)."""
    return parse_config(tomllib.loads(STARTER_TOML), path=None, env=env)
