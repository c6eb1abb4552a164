#!/usr/bin/env bash
# Regenerates Sources/KilnProto/Generated from Protos/ and writes the descriptor
# set the server serves for reflection. The output is committed: CI never runs this.
#
# Needs Debian's protobuf-compiler (protoc 3.21). The two Swift plugins are built
# once from dev/protoc-plugins (pinned to the versions Package.swift uses), or
# taken from PLUGIN_DIR if set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PLUGIN_DIR:-}" ]]; then
  (cd dev/protoc-plugins \
    && swift build -c release --product protoc-gen-swift \
    && swift build -c release --product protoc-gen-grpc-swift-2)
  PLUGIN_DIR="$(cd dev/protoc-plugins && swift build -c release --show-bin-path)"
fi

out=Sources/KilnProto/Generated
rm -f "$out"/*.swift
protoc --proto_path=Protos \
  --plugin=protoc-gen-swift="$PLUGIN_DIR/protoc-gen-swift" \
  --swift_opt=Visibility=Public --swift_out="$out" \
  --plugin=protoc-gen-grpc-swift="$PLUGIN_DIR/protoc-gen-grpc-swift-2" \
  --grpc-swift_opt=Visibility=Public,Server=true,Client=true --grpc-swift_out="$out" \
  --include_imports --descriptor_set_out=Protos/kiln.protoset \
  $(cd Protos && find kiln grpc -name '*.proto' | sort)
echo "generated into $out"
