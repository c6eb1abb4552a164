#!/usr/bin/env bash
# The reliability suite's short runs, for CI (about three minutes): 5 crash rounds
# (SIGKILL and restart of a real kilnd under a mixed workload), 100 racing clients for
# 10 s (their history checked for linearizability) and the hostile-client cases (raw
# HTTP/2: framing, limits, timeouts). Installs the Python client's pinned requirements
# and the suite's own (h2) first. Needs .build/debug/kilnd (or $KILND).
# The long runs (500 crash rounds, the million-event soak) are in Reliability/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt -r Reliability/requirements.txt || exit 1
status=0
python3 Reliability/crash.py --rounds 5 || status=1
python3 Reliability/races.py --clients 100 --seconds 10 --self-test || status=1
python3 Reliability/hostile.py || status=1
exit $status
