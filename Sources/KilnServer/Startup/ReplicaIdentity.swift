import Foundation
import KilnCore

/// This kilnd's name among the processes sharing one database: a random id kept in
/// `<data-dir>/replica-id`, the same across restarts, so that a restarted replica
/// knows the jobs its previous life held (their leases carry the id).
enum ReplicaIdentity {
  /// The id in `dataDirectory`, created on first start.
  static func load(dataDirectory: URL) throws -> String {
    let file = dataDirectory.appendingPathComponent("replica-id")
    if let text = try? String(contentsOf: file, encoding: .utf8) {
      let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
      if !id.isEmpty { return id }
    }
    let host = ProcessInfo.processInfo.hostName.prefix(40)
    let id = "\(host)-\(UUID().uuidString.lowercased().prefix(8))"
    do {
      try Data((id + "\n").utf8).write(to: file, options: .atomic)
    } catch {
      throw StartupError("cannot write \(file.path): \(error.localizedDescription)")
    }
    return id
  }
}
