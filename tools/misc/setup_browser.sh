#!/usr/bin/env bash
# The browser tests' set-up (`make test-browser`): Debian's Chromium (/usr/bin/chromium) and
# the Python package playwright (its driver; no browser download: the tests launch the
# system's Chromium). Usage: bash tools/misc/setup_browser.sh [VENV]
set -euo pipefail
VENV=${1:-.venv}
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
"$VENV/bin/python" -c 'import playwright' 2>/dev/null \
  || "$VENV/bin/pip" install -q -c requirements/constraints.txt playwright
chromium --version
