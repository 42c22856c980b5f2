"""What every CLI command shares: the loaded config, the open store, the clock, error exits."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from storage.errors import StorageError
from storage.interface import Store
from watcher.config import Config, load_config
from watcher.errors import ConfigError, WatcherError
from watcher.ruleload import RulesLoadError

EXIT_CONFIG = 2
EXIT_STORAGE = 3

if TYPE_CHECKING:
    from watcher.ruleload import LazyRuleSet

F = TypeVar("F", bound=Callable[..., Any])


def utcnow() -> datetime:
    """The one place the CLI reads the clock; everything below takes ``now`` as an argument."""
    return datetime.now(UTC)


@dataclass
class AppContext:
    config_path: Path | None
    _config: Config | None = None
    _store: Store | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def config(self) -> Config:
        if self._config is None:
            if self.config_path is not None:
                self._config = load_config(self.config_path)
            else:
                from watcher.defaults import default_config

                self._config = default_config(os.environ)
        return self._config

    def ruleset(self) -> LazyRuleSet:
        """The configured rules (compiled on first use), checked against the alert channels'
        rule filters."""
        from watcher.config import check_rule_ids
        from watcher.ruleload import load_rules_lazily

        ruleset = load_rules_lazily(self.config().rules)
        if any(a.rules for a in self.config().alerts):  # (rule_ids reads the packs)
            check_rule_ids(self.config(), ruleset.rule_ids)
        return ruleset

    def store(self) -> Store:
        if self._store is None:
            from storage.sqlite import open_store

            self._store = open_store(self.config().storage.path)
            self.closers.append(self._store.close)
        return self._store

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()


pass_app = click.make_pass_decorator(AppContext)


def handle_errors(fn: F) -> F:
    """Turn configuration and storage errors into a clear message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except RulesLoadError as exc:
            click.echo(f"error: rules: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except StorageError as exc:
            click.echo(f"error: storage: {exc}", err=True)
            sys.exit(EXIT_STORAGE)
        except WatcherError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose < 0 else logging.INFO if verbose == 0 else logging.DEBUG
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    noisy_loggers = ("httpx", "httpcore", "trafilatura", "htmldate", "apscheduler")
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
