#!/usr/bin/env bash
# Writes Sources/KilnWeb/Generated/WebPageFiles.swift from the files of the job monitor
# page (Sources/KilnWeb/Page): each file base64-encoded in a string literal, so kilnd
# carries the page in its binary. Run it after changing the page; the output is
# committed, and KilnWebTests checks that it matches the files.
set -euo pipefail
cd "$(dirname "$0")/.."
page=Sources/KilnWeb/Page
out=Sources/KilnWeb/Generated/WebPageFiles.swift
mkdir -p "$(dirname "$out")"
{
  cat <<'SWIFT'
// DO NOT EDIT.
// swift-format-ignore-file
//
// Written by dev/generate-web-page.sh from Sources/KilnWeb/Page: the job monitor page's
// files, base64-encoded, so that kilnd serves the page with no file beside it.

/// The built-in page files by path, base64-encoded.
enum WebPageFiles {
  static let base64: [String: String] = [
SWIFT
  (cd "$page" && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort) | while read -r name; do
    printf '    "%s": "%s",\n' "$name" "$(base64 -w0 "$page/$name")"
  done
  cat <<'SWIFT'
  ]
}
SWIFT
} > "$out"
echo "wrote $out"
