"""Shared fixtures: real loopback servers and the shared third-party corpus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import LocalHTTPServer, LocalSMTPServer, WebhookReceiver

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
SEED_ARTICLE = SHARED_CORPUS / "seed" / "meta-deepseek-llama4-ar.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_server() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


@pytest.fixture
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    return SHARED_CORPUS


@pytest.fixture
def seed_article() -> str:
    if not SEED_ARTICLE.is_file():
        pytest.skip("../shared/corpus/seed is absent")
    return SEED_ARTICLE.read_text(encoding="utf-8")
