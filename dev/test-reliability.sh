#!/usr/bin/env bash
# The reliability suite's short runs, for CI (about four minutes): 5 crash rounds
# (SIGKILL and restart of a real kilnd under a mixed workload), 100 racing clients for
# 10 s (their history checked for linearizability) and the hostile-client cases (raw
# HTTP/2: framing, limits, timeouts), all on SQLite; then, when KILN_TEST_POSTGRES_URL
# names a PostgreSQL server (dev/test.sh starts one and exports it), 3 crash rounds and
# 100 racing clients for 10 s with kilnd's state in a fresh database of that server
# (created and dropped by each run; about a minute more).
# Installs the Python client's pinned requirements and the suite's own (h2) first.
# Needs .build/debug/kilnd (or $KILND).
# The long runs (500 crash rounds, the million-event soak, on either store) are in
# Reliability/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt -r Reliability/requirements.txt || exit 1
status=0
python3 Reliability/crash.py --rounds 5 --store sqlite || status=1
python3 Reliability/races.py --clients 100 --seconds 10 --self-test --store sqlite || status=1
python3 Reliability/hostile.py || status=1
if [ -n "${KILN_TEST_POSTGRES_URL:-}" ]; then
  python3 Reliability/crash.py --rounds 3 --store "$KILN_TEST_POSTGRES_URL" || status=1
  python3 Reliability/races.py --clients 100 --seconds 10 --store "$KILN_TEST_POSTGRES_URL" || status=1
else
  echo "crash and races on PostgreSQL: skipped (KILN_TEST_POSTGRES_URL is not set; dev/test.sh sets it)"
fi
exit $status
