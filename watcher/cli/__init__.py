"""The ``watcher`` command line: ``run``, ``poll``, ``match``, ``digest``, ``sources``, ``rules``,
``alerts``, ``mute``, ``init``, ``demo``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from watcher.cli.common import AppContext, setup_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file (TOML). Default: $WATCHER_CONFIG, else the built-in default config.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors in the log.")
@click.version_option(package_name="ai-news-watcher")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """AI News Watcher: watch AI-industry news and alert on what matters."""
    setup_logging(-1 if quiet else verbose)
    if config_path is None and os.environ.get("WATCHER_CONFIG"):
        config_path = Path(os.environ["WATCHER_CONFIG"])
    app = AppContext(config_path)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from watcher.cli import (
        alerts_cmd,
        core_cmd,
        match_cmd,
        rules_cmd,
        sources_cmd,
    )

    for module in (core_cmd, match_cmd, rules_cmd, sources_cmd, alerts_cmd):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
