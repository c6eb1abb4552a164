#!/usr/bin/env bash
# Regenerates Sources/KilnProto/Generated from Protos/ and writes the descriptor
# set the server serves for reflection (Protos/kiln.protoset, with every import), and
# the same bytes as Swift (Generated/KilnDescriptorSet.swift) so that kilnd carries
# them in its binary. The output is committed: CI never runs this.
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
rm -rf "$out"
mkdir -p "$out"
# Files are named after their whole path (grpc_reflection_v1_reflection.pb.swift):
# swiftc refuses two files of one module with the same name, and the two reflection
# versions are both reflection.proto.
protoc --proto_path=Protos \
  --plugin=protoc-gen-swift="$PLUGIN_DIR/protoc-gen-swift" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores --swift_out="$out" \
  --plugin=protoc-gen-grpc-swift="$PLUGIN_DIR/protoc-gen-grpc-swift-2" \
  --grpc-swift_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores --grpc-swift_out="$out" \
  --include_imports --descriptor_set_out=Protos/kiln.protoset \
  $(cd Protos && find kiln grpc -name '*.proto' | sort)

# The descriptor set as a Swift constant rather than a SwiftPM resource: a resource
# bundle must sit beside the executable (Bundle.module finds it there on Linux, and
# traps when it is missing), so a kilnd copied on its own to another directory would
# lose reflection; a constant travels inside the binary. Base64 in a string literal
# compiles in no time, where an array literal of 16,000 numbers takes the type checker
# seconds.
{
  cat <<'SWIFT'
// DO NOT EDIT.
// swift-format-ignore-file
//
// Written by dev/generate-protos.sh: Protos/kiln.protoset (a FileDescriptorSet of
// every file under Protos/ and everything they import), base64-encoded, so that
// kilnd serves reflection with no file beside it.

public import Foundation

/// The descriptor set of every proto file Kiln serves, with their imports.
public enum KilnDescriptorSet {
  /// The serialized `google.protobuf.FileDescriptorSet`, as in `Protos/kiln.protoset`.
  public static var serialized: Data {
    // The literal is made by `base64`, so it always decodes.
    Data(base64Encoded: base64, options: .ignoreUnknownCharacters)!
  }

  private static let base64 = """
SWIFT
  base64 -w 96 Protos/kiln.protoset
  cat <<'SWIFT'
"""
}
SWIFT
} > "$out/KilnDescriptorSet.swift"
echo "generated into $out"
