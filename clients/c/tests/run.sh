#!/usr/bin/env bash
# Runs the C client's tests against a real kilnd on 127.0.0.1 (a fresh data
# directory, port 0), each test program under valgrind so that a leak or a
# memory error fails them. kilnd is stopped at the end, even on failure.
# kilnd: ../../.build/debug/kilnd (swift build --product kilnd), or $KILND.
set -euo pipefail
cd "$(dirname "$0")/.."
KILND=${KILND:-../../.build/debug/kilnd}
if [ ! -x "$KILND" ]; then
  echo "kilnd not found at $KILND: build it at the repository root with 'swift build --product kilnd', or set KILND" >&2
  exit 1
fi
B=build
VALGRIND=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
          --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$KILND" --host 127.0.0.1 --port 0 --data-dir "$tmp/data" --log-level notice 2>"$tmp/kilnd.log" &
pid=$!
port=
for _ in $(seq 1 600); do  # waits for startup only: at most a minute
  port=$(sed -n 's/.*kilnd listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/kilnd.log" | head -n1)
  [ -n "$port" ] && [ -s "$tmp/data/admin.token" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "kilnd did not start; its log:" >&2
  cat "$tmp/kilnd.log" >&2
  exit 1
fi
export KILN_ADDR=127.0.0.1:$port KILN_TOKEN_FILE=$tmp/data/admin.token
unset KILN_TOKEN

status=0
"${VALGRIND[@]}" "$B/test_kiln" || status=1

# The CLI example: submit, get, pause, watch from the submit, and errors.
cli() { "${VALGRIND[@]}" "$B/kiln-c" "$@"; }
expect() { # expect WHAT CONDITION
  if ! eval "$2"; then echo "kiln-c: FAILED: $1" >&2; status=1; fi
}
out=$(cli submit default INDEX_BUILD c_client_subject sleep_ms=600000) || { echo "kiln-c submit failed" >&2; exit 1; }
id=${out%% *}
rev=$(sed -n 's/.*revision=\([0-9]*\).*/\1/p' <<<"$out")
expect "submit prints the job" '[[ "$out" == *" default/INDEX_BUILD/c_client_subject "* ]]'
out=$(cli get "$id") || status=1
expect "get prints the job" '[[ "$out" == "$id "* ]]'
out=$(cli pause "$id") || status=1
expect "pause pauses" '[[ "$out" == "$id PAUSED "* ]]'
out=$(cli get no-such-job 2>&1) && status=1
expect "get of an unknown job says NOT_FOUND" '[[ "$out" == *"NOT_FOUND"* ]]'
out=$(cli pause "$id" 2>&1) && status=1
expect "pausing twice says FAILED_PRECONDITION" '[[ "$out" == *"FAILED_PRECONDITION"* ]]'
out=$(KILN_ADDR=nowhere "$B/kiln-c" get x 2>&1) && status=1
expect "a malformed KILN_ADDR says INVALID_ARGUMENT" '[[ "$out" == *"INVALID_ARGUMENT"*"KILN_ADDR"* ]]'
# watch runs until stopped: read its first lines (the replayed submit and pause), then stop it.
exec 3< <(exec "${VALGRIND[@]}" "$B/kiln-c" watch $((rev - 1)))
watch_pid=$!
read -r first <&3 || true
kill "$watch_pid" 2>/dev/null || true
exec 3<&-
expect "watch replays the submit" '[[ "$first" == "CREATED revision=$rev $id "* ]]'

if [ "$status" = 0 ]; then echo "C client tests passed"; else echo "C client tests FAILED" >&2; fi
exit "$status"
