"""Poll benchmark (issue #4): this project vs newsboat, rss2email and feed2exec, one run.

    bash bench/poll/setup.sh            # peers into bench/.peers (+ newsboat from Debian)
    .venv/bin/python bench/poll/run.py  # prints the table, saves bench/results/poll-*.json

Generates 500 feeds x 20 items (each item a ~6 KB article page), serves them from an aiohttp
server on 127.0.0.1 (a separate process), and times each tool as a whole process (wall clock)
with the peak RSS of its whole process tree (sampled every 20 ms). Scenarios: cold feed-only
poll, warm poll (everything answers 304), cold full-text poll (fetch + extract + match + store),
httpx's default transport vs httpx-aiohttp vs watcher.h1 at several concurrencies, and the daemon's idle cost
with 5,000 sources.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# This project runs from bench/.app-venv (runtime dependencies only, as users install it) when
# setup.sh made it, else from the interpreter running this script.
_APP_PY = REPO / "bench" / ".app-venv" / "bin" / "python"
PY = str(_APP_PY) if _APP_PY.exists() else sys.executable
PEERS = REPO / "bench" / ".peers" / "bin"


# -- process measurement ---------------------------------------------------------------------


def _tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak tree RSS (MB), exit code and stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    return {
        "wall_s": wall,
        "peak_mb": peak / 1024,
        "rc": proc.returncode,
        "out": out,
        "err": err[-2000:],
    }


# -- corpus and server -------------------------------------------------------------------------


def prepare(data: Path, feeds: int, items: int, base: str) -> None:
    meta = data / "meta.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        if (m["feeds"], m["items"], m["base"]) == (feeds, items, base):
            return
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run(
        [
            PY,
            str(HERE / "gen.py"),
            str(data),
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            "--base",
            base,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([PY, str(HERE / "serve.py"), str(data), str(port)])
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/f/0.xml", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("benchmark server did not start")


# -- the tools ---------------------------------------------------------------------------------


def watcher_poll(work: Path, base: str, feeds: int, db: str, *extra: str) -> dict:
    r = measure(
        [
            PY,
            str(HERE / "watcher_poll.py"),
            "--data",
            str(work),
            "--db",
            str(work / db),
            "--base",
            base,
            "--feeds",
            str(feeds),
            *extra,
        ],
        cwd=REPO,
    )
    try:
        r["inner"] = json.loads(r["out"].strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        r["inner"] = {"error": r["err"]}
    return r


def first_search(db: Path) -> dict:
    """The first `watcher search` after the cold poll: it indexes the poll's articles first."""
    r = measure([PY, str(HERE / "watcher_search.py"), "--db", str(db)], cwd=REPO)
    try:
        return {"wall_s": r["wall_s"]} | json.loads(r["out"].strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": r["err"]}


def write_peer_configs(work: Path, base: str, feeds: int) -> None:
    urls = [f"{base}/f/{i}.xml" for i in range(feeds)]
    (work / "newsboat-urls").write_text("\n".join(urls) + "\n")
    (work / "newsboat-config").write_text("reload-threads 16\nshow-read-feeds yes\n")
    opml = ['<?xml version="1.0"?><opml version="2.0"><head><title>b</title></head><body>']
    opml += [
        f'<outline type="rss" text="f{i}" title="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls)
    ]
    opml.append("</body></opml>")
    (work / "feeds.opml").write_text("\n".join(opml))


def newsboat(work: Path) -> dict:
    r = measure(
        [
            "newsboat",
            "-x",
            "reload",
            "-u",
            str(work / "newsboat-urls"),
            "-c",
            str(work / "newsboat.db"),
            "-C",
            str(work / "newsboat-config"),
        ],
        env={**os.environ, "HOME": str(work)},
    )
    import sqlite3

    with sqlite3.connect(work / "newsboat.db") as db:
        r["items"] = db.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return r


def r2e_setup(work: Path) -> None:
    cfg, data = work / "r2e.cfg", work / "r2e.json"
    subprocess.run(
        [str(PEERS / "r2e"), "-c", str(cfg), "-d", str(data), "new", "bench@example.org"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(PEERS / "r2e"),
            "-c",
            str(cfg),
            "-d",
            str(data),
            "opmlimport",
            str(work / "feeds.opml"),
        ],
        check=True,
        capture_output=True,
    )


def r2e_run(work: Path) -> dict:
    return measure(
        [
            str(PEERS / "r2e"),
            "-c",
            str(work / "r2e.cfg"),
            "-d",
            str(work / "r2e.json"),
            "run",
            "--no-send",
        ]
    )


def feed2exec(work: Path) -> dict:
    base = [
        str(PEERS / "feed2exec"),
        "--config",
        str(work / "f2e.ini"),
        "--database",
        str(work / "f2e.db"),
    ]
    if not (work / "f2e.ini").exists():
        subprocess.run([*base, "import", str(work / "feeds.opml")], check=True, capture_output=True)
    return measure([*base, "fetch"])


# -- transports ----------------------------------------------------------------------------------


TRANSPORT_SCRIPT = r"""
import asyncio, json, sys, time
import httpx
from watcher.config import FetchConfig
from watcher.http import Fetcher, make_client
kind, conc, base, n, per = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cfg = FetchConfig(max_connections=conc, per_host=conc, respect_robots=False)
urls = [f"{base}/a/{i // per}-{i % per}.html" for i in range(n)]
async def main():
    async with make_client(cfg, backend=kind) as client:
        f = Fetcher(client, cfg)
        t0 = time.perf_counter(); c0 = time.process_time()
        docs = await asyncio.gather(*(f.fetch(u) for u in urls))
        wall = time.perf_counter() - t0; cpu = time.process_time() - c0
        assert all(d.status == 200 for d in docs)
        print(json.dumps({"req_s": n / wall, "cpu_ms_per_req": 1000 * cpu / n}))
asyncio.run(main())
"""


def transports(base: str, n: int, per: int) -> list[dict]:
    rows = []
    for conc in (8, 32, 128):
        for kind in ("httpx", "aiohttp", "h1"):
            out = subprocess.run(
                [PY, "-c", TRANSPORT_SCRIPT, kind, str(conc), base, str(n), str(per)],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            try:
                res = json.loads(out.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                res = {"error": out.stderr[-500:]}
            rows.append({"transport": kind, "concurrency": conc, **res})
    return rows


# -- idle daemon ---------------------------------------------------------------------------------


def idle_daemon(work: Path, base: str, n_sources: int, settle: float, window: float) -> dict:
    cfg = work / "idle.toml"
    lines = [f'[storage]\npath = "{work / "idle.db"}"\n', '[[alert]]\nname = "log"\nkind = "log"\n']
    for i in range(n_sources):
        lines.append(
            f'[[source]]\nname = "s{i}"\nurl = "{base}/f/empty.xml?n={i}"\nevery = "1h"\nfulltext = false\n'
        )
    cfg.write_text("\n".join(lines))
    (work / "idle.db").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [str(Path(PY).parent / "watcher"), "--config", str(cfg), "-q", "run"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def cpu() -> float:
        with open(f"/proc/{proc.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12]) + int(parts[13]) + int(parts[14])) / os.sysconf(
            "SC_CLK_TCK"
        )

    try:
        time.sleep(settle)  # start-up polls of every source happen here
        if proc.poll() is not None:
            return {"error": f"daemon exited with {proc.returncode}"}
        import sqlite3

        with sqlite3.connect(f"file:{work / 'idle.db'}?mode=ro", uri=True) as db:
            polled = db.execute("SELECT count(DISTINCT source) FROM fetch_log").fetchone()[0]
        c0, t0 = cpu(), time.perf_counter()
        peak = 0
        while time.perf_counter() - t0 < window:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.5)
        c1, t1 = cpu(), time.perf_counter()
        return {
            "sources": n_sources,
            "polled_at_start": polled,
            "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
            "rss_mb": peak / 1024,
            "window_s": t1 - t0,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "watcher-bench-poll")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--idle-sources", type=int, default=5000)
    ap.add_argument("--only-idle", action="store_true", help="only the idle-daemon scenario")
    ap.add_argument(
        "--no-compile",
        action="store_true",
        help="do not byte-compile the project first (as an editable install run with "
        "PYTHONDONTWRITEBYTECODE=1 would be: every start-up recompiles ~200 modules)",
    )
    args = ap.parse_args()
    if not args.no_compile:  # a normal (pip) install ships compiled bytecode; match it
        subprocess.run(
            [PY, "-m", "compileall", "-q", "watcher", "storage", "rules"],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{args.port}"
    prepare(args.data, args.feeds, args.items, base)
    work = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    server = start_server(args.data, args.port)
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "load_before": os.getloadavg(),
        },
        "bytecode_compiled": not args.no_compile,
        "corpus": json.loads((args.data / "meta.json").read_text()),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.only_idle:
        try:
            results["idle"] = idle_daemon(work, base, args.idle_sources, settle=90.0, window=30.0)
        finally:
            server.terminate()
            server.wait()
        print(json.dumps(results["idle"]))
        return
    try:
        cold: dict[str, dict] = {}
        warm: dict[str, dict] = {}
        cold["watcher (httpx)"] = watcher_poll(
            work, base, args.feeds, "w1.db", "--transport", "httpx"
        )
        warm["watcher (httpx)"] = watcher_poll(
            work, base, args.feeds, "w1.db", "--transport", "httpx"
        )
        cold["watcher (httpx-aiohttp)"] = watcher_poll(
            work, base, args.feeds, "w2.db", "--transport", "aiohttp"
        )
        warm["watcher (httpx-aiohttp)"] = watcher_poll(
            work, base, args.feeds, "w2.db", "--transport", "aiohttp"
        )
        # the default: watcher.h1 (httpx-aiohttp only when a proxy is configured)
        cold["watcher (h1, default)"] = watcher_poll(
            work, base, args.feeds, "w4.db", "--transport", "h1"
        )
        results["first_search"] = first_search(work / "w4.db")
        warm["watcher (h1, default)"] = watcher_poll(
            work, base, args.feeds, "w4.db", "--transport", "h1"
        )
        if not args.skip_peers:
            write_peer_configs(work, base, args.feeds)
            if shutil.which("newsboat"):
                cold["newsboat -x reload"] = newsboat(work)
                warm["newsboat -x reload"] = newsboat(work)
            if (PEERS / "r2e").exists():
                r2e_setup(work)
                cold["r2e run --no-send"] = r2e_run(work)
                warm["r2e run --no-send"] = r2e_run(work)
            if (PEERS / "feed2exec").exists():
                cold["feed2exec fetch"] = feed2exec(work)
                warm["feed2exec fetch"] = feed2exec(work)
        full = watcher_poll(
            work, base, args.feeds, "w3.db", "--fulltext", "--index", "--transport", "h1"
        )
        results["cold_feed_only"] = {k: _slim(v) for k, v in cold.items()}
        results["warm"] = {k: _slim(v) for k, v in warm.items()}
        results["cold_fulltext"] = _slim(full)
        results["transports"] = transports(base, min(4000, args.feeds * args.items), args.items)
        if not args.skip_idle and (REPO / "watcher" / "daemon.py").exists():
            results["idle"] = idle_daemon(work, base, args.idle_sources, settle=90.0, window=30.0)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    out = REPO / "bench" / "results" / f"poll-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nsaved {out.relative_to(REPO)}")


def _slim(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("out",)} | (
        {"err": r["err"]} if r.get("rc") else {}
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def report(res: dict) -> None:
    m = res["machine"]
    print(
        f"machine: {m['cpus']} x {m['cpu']}, Python {m['python']}, load before {m['load_before'][0]:.2f}"
    )
    print(
        f"corpus: {res['corpus']['feeds']} feeds x {res['corpus']['items']} items, pages ~{res['corpus']['avg_page_bytes']} B\n"
    )
    for title, rows in (
        ("cold poll, feed-only", res["cold_feed_only"]),
        ("warm poll (all 304)", res["warm"]),
    ):
        ref = rows.get("newsboat -x reload") or rows.get("r2e run --no-send")
        ref_name = "newsboat" if "newsboat -x reload" in rows else "rss2email"
        print(f"{title}:")
        print(
            f"  {'tool':<28} {'wall s':>8} {'inner s':>8} {'index s':>8} {'peak MB':>8}"
            f" {'x ' + ref_name:>12}"
        )
        for name, r in rows.items():
            inner = r.get("inner", {}).get("poll_s")
            index = r.get("inner", {}).get("index_s")
            ratio = f"{r['wall_s'] / ref['wall_s']:.2f}" if ref else "-"
            inner_s = f"{inner:.2f}" if isinstance(inner, float) else "-"
            index_s = f"{index:.2f}" if isinstance(index, float) else "-"
            rc = "" if r["rc"] == 0 else f"  (exit {r['rc']})"
            print(
                f"  {name:<28} {r['wall_s']:>8.2f} {inner_s:>8} {index_s:>8}"
                f" {r['peak_mb']:>8.0f} {ratio:>12}{rc}"
            )
        print()
    fs = res.get("first_search")
    if fs and "error" not in fs:
        print(
            f"first search after the cold poll: {fs['first_s']:.2f} s, of which indexing its "
            f"{fs['queued']} queued articles (`watcher poll` leaves them to it); the same "
            f"search again {fs['again_s'] * 1000:.0f} ms\n"
        )
    f = res["cold_fulltext"]
    inner = f.get("inner", {})
    # the poll and the search-index update after it (the poller used to do both)
    polled = (inner.get("poll_s") or 0.0) + (inner.get("index_s") or 0.0)
    n, s = inner.get("new_articles", 0), polled or f["wall_s"]
    print(
        f"cold full-text poll: {n} articles in {s:.1f} s = {n / s:.0f} articles/s "
        f"(whole process {f['wall_s']:.1f} s), peak RSS of the process tree {f['peak_mb']:.0f} MB, "
        f"{inner.get('matched', 0)} matched\n"
    )
    print("transports (fetch article pages through watcher.http.Fetcher):")
    for r in res["transports"]:
        if "error" in r:
            print(f"  {r['transport']:<8} c={r['concurrency']:<4} error")
        else:
            print(
                f"  {r['transport']:<8} c={r['concurrency']:<4} {r['req_s']:>8.0f} req/s  {r['cpu_ms_per_req']:.2f} ms CPU/req"
            )
    if "idle" in res:
        i = res["idle"]
        if "error" in i:
            print(f"\nidle daemon: {i['error']}")
        else:
            print(
                f"\nidle daemon, {i['sources']} sources ({i.get('polled_at_start')} polled at start-up): "
                f"{i['cpu_pct']:.2f}% CPU, {i['rss_mb']:.0f} MB RSS "
                f"(over {i['window_s']:.0f} s between polls)"
            )


if __name__ == "__main__":
    main()
