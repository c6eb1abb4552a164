import Foundation
import KilnCore

#if canImport(Glibc)
  import Glibc
#endif

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
    let id = "\(hostName().prefix(40))-\(UUID().uuidString.lowercased().prefix(8))"
    do {
      try Data((id + "\n").utf8).write(to: file, options: .atomic)
    } catch {
      throw StartupError("cannot write \(file.path): \(error.localizedDescription)")
    }
    return id
  }

  /// The kernel's host name (`gethostname`): Foundation's `hostName` may ask DNS.
  private static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "kilnd" }
    let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "kilnd" : name
  }
}
