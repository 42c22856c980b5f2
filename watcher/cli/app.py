"""The ``watcher`` click group: ``run``, ``poll``, ``match``, ``digest``, ``sources``, ``rules``,
``alerts``, ``mute``, ``init``, ``demo`` (each command's module imported when it runs)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click

from watcher.cli.common import AppContext, setup_logging

#: command name -> module (``watcher.cli.<module>``) whose ``COMMANDS`` holds it. Modules are
#: imported only when one of their commands runs, so ``watcher poll`` stays quick to start.
LAZY_COMMANDS: dict[str, str] = {
    "run": "core_cmd",
    "poll": "core_cmd",
    "digest": "core_cmd",
    "search": "core_cmd",
    "init": "core_cmd",
    "demo": "core_cmd",
    "match": "match_cmd",
    "rules": "rules_cmd",
    "sources": "sources_cmd",
    "alerts": "alerts_cmd",
    "mute": "alerts_cmd",
    "unmute": "alerts_cmd",
}


class _LazyGroup(click.Group):
    """A group that imports a command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module = importlib.import_module(f"watcher.cli.{LAZY_COMMANDS[cmd_name]}")
            for command in module.COMMANDS:
                if command.name is not None and command.name not in self.commands:
                    self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
