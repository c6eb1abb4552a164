#!/usr/bin/env bash
# The whole test suite: the Swift tests (which build everything, kilnd included), then
# the Python client's tests against that kilnd (installing its pinned requirements with
# pip first), then the C client's (installing its Debian libraries with apt-get first,
# run under valgrind), then the reliability suite's short runs (crash rounds with
# SIGKILL, 100 racing clients checked for linearizability, hostile clients). The README's
# test command, and what CI runs.
#
# The fuzz tests run in a process of their own, after the rest: seconds of CPU-bound work
# beside the real servers of the other suites made a health watch in one of them wait
# more than 30 s on these 2-core machines.
set -euo pipefail
cd "$(dirname "$0")/.."
swift test --skip KilnFuzzingTests
swift test --skip-build --filter KilnFuzzingTests
bash dev/test-python.sh
bash dev/test-c.sh
bash dev/test-reliability.sh
