#!/usr/bin/env bash
# The whole test suite: the Swift tests (which build everything, kilnd included), then
# the Python client's tests against that kilnd (installing its pinned requirements with
# pip first), the web monitor's in headless chromium (installing chromium and its driver
# with apt-get if missing), then the C client's (installing its Debian libraries with apt-get first,
# run under valgrind), then the reliability suite's short runs (crash rounds with
# SIGKILL, 100 racing clients checked for linearizability, hostile clients). The README's
# test command, and what CI runs.
#
# The fuzz tests run in a process of their own, after the rest: seconds of CPU-bound work
# beside the real servers of the other suites made a health watch in one of them wait
# more than 30 s on these 2-core machines.
#
# The store contract suite, the PostgreSQL tests and the reliability suite's PostgreSQL
# crash rounds run against a local PostgreSQL server on 127.0.0.1 that dev/postgres.sh
# installs (Debian's package) and starts, unless KILN_TEST_POSTGRES_URL names one
# already (set it empty to skip them).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${KILN_TEST_POSTGRES_URL+set}" ]; then
  KILN_TEST_POSTGRES_URL=$(bash dev/postgres.sh start)
fi
export KILN_TEST_POSTGRES_URL
echo "PostgreSQL for the tests: ${KILN_TEST_POSTGRES_URL:-none (skipped)}"
swift test --skip KilnFuzzingTests
swift test --skip-build --filter KilnFuzzingTests
if [ -n "$KILN_TEST_POSTGRES_URL" ]; then
  # The server, SDK and shell suites again, with kilnd keeping its state in PostgreSQL.
  # Skipped here: WatchTests' stalled-subscriber test, which on PostgreSQL failed in two
  # of three full CI runs (a submit past its deadline while 60 padded jobs are queued
  # beside a watcher that stops reading; it passes alone) — open, see issue #14's note.
  KILN_TEST_SERVER_STORE=postgres swift test --skip-build --filter 'KilnServerTests|KilnClientTests|KilnCLITests' \
    --skip 'stalledSubscriber'
fi
bash dev/test-python.sh
# The web monitor in a real browser, on the page built into kilnd (what users get).
KILN_WEB_ROOT=builtin bash dev/test-web.sh
bash dev/test-c.sh
bash dev/test-reliability.sh
