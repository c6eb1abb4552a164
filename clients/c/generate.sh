#!/usr/bin/env bash
# Regenerates the protobuf-c sources under gen/ from the repository's Protos/.
# Needs protoc-c (Debian: protobuf-c-compiler, which brings protoc and the
# well-known types); the build itself needs only libprotobuf-c.
#
# protoc-c 1.4 does not support proto3 `optional`. A proto3 optional field is
# by definition a one-field "synthetic" oneof, so a copy of the protos with
#   optional int64 x = 3;   ->   oneof _x { int64 x = 3; }
# is the same on the wire; that copy is what gets compiled (the field shows up
# in C as `_x_case == ..._X` plus `x`).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/kiln/v1"
for f in jobs subjects; do
  sed -E 's/^([[:space:]]*)optional[[:space:]]+([A-Za-z0-9_.]+)[[:space:]]+([A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*([0-9]+);/\1oneof _\3 { \2 \3 = \4; }/' \
    "../../Protos/kiln/v1/$f.proto" > "$tmp/kiln/v1/$f.proto"
done
rm -rf gen
mkdir -p gen
protoc-c --c_out=gen -I "$tmp" -I /usr/include \
  kiln/v1/jobs.proto kiln/v1/subjects.proto \
  google/protobuf/timestamp.proto google/protobuf/duration.proto
