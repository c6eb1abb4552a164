#!/usr/bin/env bash
# A local PostgreSQL server for kilnd --store and the tests, on 127.0.0.1 only.
#
#   dev/postgres.sh start   initdb (first time) and start; prints the URL to use
#   dev/postgres.sh stop
#   dev/postgres.sh url     prints the URL
#
# KILN_PG_DIR (default /tmp/kiln-postgres) holds the cluster, KILN_PG_PORT (default
# 54329) is its port. Trust authentication for the local user `kiln`, which owns the
# cluster: a development server, never one reachable from another machine. Installs
# Debian's postgresql package when the server binaries are missing. PostgreSQL refuses
# to run as root, so as root the cluster belongs to the `postgres` system user.
set -euo pipefail
DIR="${KILN_PG_DIR:-/tmp/kiln-postgres}"
PORT="${KILN_PG_PORT:-54329}"
URL="postgres://kiln@127.0.0.1:${PORT}/kiln?sslmode=disable"

bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$found" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$found"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    BIN=$(bin)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      as_owner "$BIN/initdb" -D "$DIR" -U kiln --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=1000 -c fsync=on" start >/dev/null
    fi
    as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U kiln -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kiln'" |
      grep -q 1 || as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U kiln kiln
    echo "$URL"
    ;;
  stop)
    BIN=$(bin)
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null || true
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: dev/postgres.sh start|stop|url" >&2
    exit 64
    ;;
esac
