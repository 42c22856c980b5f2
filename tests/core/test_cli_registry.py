"""Every command a CLI module defines is reachable from the lazy top-level group."""

from __future__ import annotations

import importlib

from click.testing import CliRunner

from watcher.cli import LAZY_COMMANDS, main


def test_every_module_command_is_registered() -> None:
    for module_name in set(LAZY_COMMANDS.values()):
        module = importlib.import_module(f"watcher.cli.{module_name}")
        for command in module.COMMANDS:
            assert LAZY_COMMANDS.get(command.name or "") == module_name, command.name


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in LAZY_COMMANDS:
        assert f"  {name} " in result.output, name
