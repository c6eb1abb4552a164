import Foundation

/// Lines entered at the prompt, kept across sessions in a file under the home
/// directory (`~/.kiln_history`, or `$KILN_HISTORY_FILE`). Lines that mention a token
/// are never written.
final class History {
  private(set) var lines: [String] = []
  private let url: URL?
  private let limit = 1000

  init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    if let path = environment["KILN_HISTORY_FILE"], !path.isEmpty {
      url = URL(fileURLWithPath: path)
    } else if let home = environment["HOME"], !home.isEmpty {
      url = URL(fileURLWithPath: home).appendingPathComponent(".kiln_history")
    } else {
      url = nil
    }
    if let url, let text = try? String(contentsOf: url, encoding: .utf8) {
      lines = text.split(separator: "\n").map(String.init).suffix(limit)
    }
  }

  /// Adds a line (not a repeat of the last one) and appends it to the file.
  func add(_ line: String) {
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty, trimmed != lines.last else { return }
    lines.append(trimmed)
    if lines.count > limit { lines.removeFirst(lines.count - limit) }
    guard let url, !trimmed.lowercased().contains("token") else { return }
    if let handle = try? FileHandle(forWritingTo: url) {
      defer { try? handle.close() }
      _ = try? handle.seekToEnd()
      try? handle.write(contentsOf: Data((trimmed + "\n").utf8))
    } else {
      try? (trimmed + "\n").write(to: url, atomically: false, encoding: .utf8)
      chmod(url.path, 0o600)
    }
  }

  /// The newest line before index `before` that contains `query`.
  func search(_ query: String, before: Int) -> Int? {
    guard !query.isEmpty else { return nil }
    var index = min(before, lines.count) - 1
    while index >= 0 {
      if lines[index].contains(query) { return index }
      index -= 1
    }
    return nil
  }
}
