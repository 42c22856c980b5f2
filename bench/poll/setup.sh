#!/usr/bin/env bash
# Installs the peers of the poll benchmark into a bench-only place (never the project venv):
# newsboat from Debian, rss2email and feed2exec from PyPI into bench/.peers; this project with
# its runtime dependencies only into bench/.app-venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
peers="$here/../.peers"
if ! command -v newsboat >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq newsboat >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq newsboat >/dev/null; fi
fi
if [ ! -x "$peers/bin/r2e" ] || [ ! -x "$peers/bin/feed2exec" ]; then
  python3 -m venv "$peers"
  "$peers/bin/pip" install -q --disable-pip-version-check rss2email==3.14 feed2exec==0.23.0
fi
# This project as a user installs it: runtime dependencies only (the test extras pull in
# rich/pygments, which httpx then imports at start-up), editable so the bench runs this tree;
# plus the optional httpx-aiohttp transport, measured beside the default one.
app="$here/../.app-venv"
if [ ! -x "$app/bin/python" ]; then
  python3 -m venv "$app"
fi
if ! "$app/bin/python" -c "import httpx_aiohttp" 2>/dev/null || \
   ! "$app/bin/python" -c "import watcher" 2>/dev/null; then
  "$app/bin/pip" install -q --disable-pip-version-check -e "$here/../..[aiohttp]"
fi
echo "newsboat: $(newsboat --version | head -1)"
echo "rss2email: $("$peers/bin/r2e" --version 2>&1 | head -1)"
echo "feed2exec: $("$peers/bin/pip" show feed2exec 2>/dev/null | grep ^Version)"
