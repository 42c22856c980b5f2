"""watcher.heap: the collector settings of a real `watcher` process (frozen start-up state),
left alone for in-process callers such as CliRunner."""

from __future__ import annotations

import gc
import subprocess
import sys

from click.testing import CliRunner

from watcher import heap
from watcher.cli import main


def test_settle_does_nothing_unless_enabled() -> None:
    assert not heap.enabled()  # the test process never runs the console entry point
    before = gc.get_freeze_count()
    heap.settle()
    assert gc.get_freeze_count() == before


def test_cli_runner_leaves_the_collector_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "w.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path / "w.db"}"\n')
    before = gc.get_freeze_count()
    result = CliRunner().invoke(main, ["--config", str(cfg), "poll"])
    assert result.exit_code == 0, result.output
    assert "polled 0 source(s)" in result.output
    assert gc.get_freeze_count() == before


def test_entry_point_freezes_start_up_state_and_again_at_exit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "w.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path / "w.db"}"\n')
    code = (
        "import atexit, gc, sys\n"
        "from watcher import cycle\n"
        "real = cycle.run_cycle\n"
        "async def spy(*a, **k):\n"
        "    print('frozen during the poll:', gc.get_freeze_count(), flush=True)\n"
        "    return await real(*a, **k)\n"
        "cycle.run_cycle = spy\n"
        "atexit.register(lambda: print('at exit, frozen:', gc.get_freeze_count(), flush=True))\n"
        f"sys.argv = ['watcher', '--config', {str(cfg)!r}, 'poll']\n"
        "from watcher.cli import entry\n"
        "entry()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "polled 0 source(s)" in run.stdout
    during = int(run.stdout.split("frozen during the poll:", 1)[1].split()[0])
    assert during > 1000  # modules, config, store: frozen before the cycle
    # this hook was registered before heap's own (atexit runs LIFO), so it sees what that one
    # froze: everything the poll left alive too (the modules it imported, for a start)
    at_exit = int(run.stdout.rsplit("at exit, frozen:", 1)[1].split()[0])
    assert at_exit > during
