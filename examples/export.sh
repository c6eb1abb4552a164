#!/bin/sh
# An example `exec` step: writes $2 rows of table $1, reporting progress on fd $KILN_PROGRESS_FD.
set -eu
mkdir -p "${EXPORT_DIR:-/tmp}"
out="${EXPORT_DIR:-/tmp}/$1-$KILN_JOB_ID.csv"
i=1
while [ "$i" -le "$2" ]; do
  echo "$i,row $i of $1" >> "$out"
  echo "wrote row $i"
  echo "KILN_PROGRESS $((i * 100 / $2))" >&"$KILN_PROGRESS_FD"
  sleep 0.3
  i=$((i + 1))
done
echo "exported to $out"
