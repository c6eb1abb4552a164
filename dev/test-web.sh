#!/usr/bin/env bash
# The job monitor page's tests in a real browser (Tests/Browser): headless Debian chromium,
# driven by Selenium through chromedriver, against a real kilnd with --http-port.
# Needs .build/debug/kilnd (swift build --product kilnd), or KILND=path.
# Screenshots of the main states go to $KILN_SCREENSHOT_DIR (default /tmp/kiln-screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
  -r clients/python/requirements.txt -r Tests/Browser/requirements.txt
export KILN_CHROMIUM="${KILN_CHROMIUM:-$(command -v chromium)}"
export KILN_CHROMEDRIVER="${KILN_CHROMEDRIVER:-$(command -v chromedriver)}"
exec python3 -m pytest -q -p no:cacheprovider Tests/Browser "$@"
