"""Poll every feed file of the shared corpus (../shared/corpus/feeds) through a real local HTTP
server with ``watcher poll`` (feed-only), and report the wall time and how many sources were
parsed or recorded as failed. Not a test: ``.venv/bin/python bench/corpus_poll.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FEEDS = REPO.parent / "shared" / "corpus" / "feeds"
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json", ".feed"}


def main() -> int:
    if not FEEDS.is_dir():
        print("../shared/corpus/feeds is absent; nothing to do")
        return 0
    files = sorted(p for p in FEEDS.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    routes = {f"/{i}{p.suffix}": p.read_bytes() for i, p in enumerate(files)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "corpus.toml"
        blocks = [
            f'[[source]]\nname = "f{i}"\nurl = "{base}{path}"\nfulltext = false\n'
            for i, path in enumerate(routes)
        ]
        cfg.write_text(
            '[storage]\npath = "c.db"\n[[alert]]\nname = "log"\nkind = "log"\nrules = []\n'
            "[fetch]\nper_host = 32\nrespect_robots = false\n\n" + "\n".join(blocks),
            encoding="utf-8",
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "watcher", "-q", "--config", str(cfg), "poll"],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    server.shutdown()
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    failed = sum(1 for line in proc.stdout.splitlines() if ": FAILED:" in line)
    m = re.search(r"polled (\d+) source", last)
    result = {
        "feeds": len(files),
        "polled": int(m.group(1)) if m else None,
        "failed_sources": failed,
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "summary": last,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
