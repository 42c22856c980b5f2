"""The ``watcher`` command line (:mod:`watcher.cli.app`).

This module is what the ``watcher`` console script and ``python -m watcher`` import, and so
what every pool worker imports again (multiprocessing re-imports the main module in each
child): it imports nothing itself. With the click group imported here, each worker of a
``watcher poll`` spent ~50 ms on click, the config and the rules loader before its first job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watcher.cli.app import LAZY_COMMANDS, main

__all__ = ["LAZY_COMMANDS", "entry", "main"]


def entry() -> None:
    """The ``watcher`` console script and ``python -m watcher``: :func:`main` with the
    collector settings of a real process (:mod:`watcher.heap`)."""
    from watcher import heap

    heap.enable()
    from watcher.cli.app import main

    main()


def __getattr__(name: str) -> Any:
    if name in ("LAZY_COMMANDS", "main"):
        from watcher.cli import app

        return getattr(app, name)
    raise AttributeError(f"module 'watcher.cli' has no attribute {name!r}")
