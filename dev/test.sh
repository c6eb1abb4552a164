#!/usr/bin/env bash
# The whole test suite: the Swift tests (which build everything, kilnd included), then
# the Python client's tests against that kilnd (installing its pinned requirements with
# pip first), then the C client's (installing its Debian libraries with apt-get first,
# run under valgrind), then the reliability suite's short runs (crash rounds with
# SIGKILL, 100 racing clients checked for linearizability). The README's test command,
# and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test
bash dev/test-python.sh
bash dev/test-c.sh
bash dev/test-reliability.sh
