"""Start-up cost: a ``watcher poll`` needs neither the feed parser nor the extractor (nor
sqlite-utils) in the main process until something actually changed; the lazy command table
lists every command the modules define."""

from __future__ import annotations

import importlib
import subprocess
import sys

from watcher.cli import LAZY_COMMANDS, main

HEAVY = (
    "feedparser",
    "trafilatura",
    "lxml",
    "sqlite_utils",
    "watcher.cli.alerts_cmd",
    "rules.engine",  # the rules compile on first use (LazyRuleSet)
    "rules.money",
)


def test_lazy_command_table_matches_the_modules() -> None:
    modules = set(LAZY_COMMANDS.values())
    defined = {
        command.name: module
        for module in modules
        for command in importlib.import_module(f"watcher.cli.{module}").COMMANDS
    }
    assert defined == LAZY_COMMANDS
    assert set(LAZY_COMMANDS) <= set(main.list_commands(None))  # type: ignore[arg-type]


def test_poll_path_imports_nothing_heavy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "a.db")
    create = f"from storage.sqlite import open_store\nopen_store({db!r}).close()\n"
    subprocess.run([sys.executable, "-c", create], check=True)  # migrates: sqlite-utils used
    code = (
        "import sys\n"
        "from watcher.cli import main\n"
        "main.get_command(None, 'poll')\n"
        "import watcher.pipeline, watcher.cycle\n"
        "from watcher.config import RulesConfig\n"
        "from watcher.ruleload import load_rules_lazily\n"
        "rules = load_rules_lazily(RulesConfig())\n"
        "assert 'deepseek' in rules.rule_ids\n"
        "import pickle\n"
        "pickle.dumps(rules)  # shipped to the workers: without compiling (or importing) here\n"
        f"{create}"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "watcher.pipeline" in out and "watcher.cli.core_cmd" in out
    assert [m for m in out if m.startswith(HEAVY)] == []


def test_lazy_ruleset_matches_like_the_compiled_one() -> None:
    import pickle

    from rules import Document
    from watcher.config import RulesConfig
    from watcher.ruleload import load_rules_lazily, load_ruleset

    lazy, eager = load_rules_lazily(RulesConfig()), load_ruleset(RulesConfig())
    assert lazy.rule_ids == eager.rule_ids and list(lazy.rules) == list(eager.rules)
    doc = Document("DeepSeek said Meta will spend $65 billion on AI data centers.", "Capex")
    blob = pickle.dumps(lazy)  # as the poller ships it to its workers: the specs only
    assert lazy._compiled is None
    shipped = pickle.loads(blob)  # compiled by rules.engine itself, without watcher.ruleload
    assert type(shipped).__module__ == "rules.engine"
    assert lazy.match(doc) == eager.match(doc) == shipped.match(doc)
    assert {m.rule for m in eager.match(doc)} >= {"deepseek", "capex"}
    assert lazy.term_count == eager.term_count  # anything else comes from the compiled set


def test_a_feed_only_pool_worker_imports_neither_the_poller_nor_its_http_stack(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """Workers run watcher.jobs: parsing, matching, extraction. The poller, HTTP client and
    store stay in the main process (a worker starts faster and is smaller). The script is
    shaped like the ``watcher`` console script, which multiprocessing imports again in each
    worker: ``watcher.cli`` imports nothing there (not click, the config or the store)."""
    script = tmp_path / "watcher-entry.py"
    script.write_text(
        "import pickle\n"
        "import sys\n"
        "from watcher.cli import entry\n"
        "if __name__ == '__main__':\n"
        "    from watcher.config import RulesConfig\n"
        "    from watcher.pool import start_pool\n"
        "    from watcher.ruleload import load_rules_lazily\n"
        "    pool = start_pool(1, pickle.dumps(load_rules_lazily(RulesConfig())), pages=False)\n"
        "    mods = pool.submit(eval, \"sorted(__import__('sys').modules)\").result()\n"
        "    pool.shutdown()\n"
        "    print(' '.join(mods))\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(script)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "watcher.jobs" in out and "rules.engine" in out and "watcher.cli" in out
    service = ("watcher.pipeline", "watcher.http", "watcher.cycle", "storage.sqlite")
    service += ("watcher.cli.", "watcher.config", "storage.models", "storage.interface")
    heavy = ("httpx", "aiohttp", "trafilatura", "sqlite_utils", "feedparser", "click")
    assert [m for m in out if m.startswith((*service, *heavy))] == []
