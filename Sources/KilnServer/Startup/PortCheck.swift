import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Tells, before the server binds, whether its TCP port is free, and if not, which
/// process holds it.
///
/// grpc-swift reports a failed bind only as "There is no listening address bound";
/// this check names the cause instead. It binds and closes a probe socket with
/// `SO_REUSEADDR`, as the server's own socket will be bound, so a port held only by
/// connections in TIME_WAIT counts as free.
enum PortCheck {
  /// Throws ``StartupError`` when `host:port` (IPv4) cannot be bound.
  static func ensureFree(host: String, port: Int) throws {
    guard port != 0 else { return }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return }  // A name: let the server resolve it.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound != 0 else { return }
    let code = errno
    guard code == EADDRINUSE else {
      throw StartupError("cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
    }
    let holder = holders(ofPort: port).first.map { " by pid \($0.pid) (\($0.command))" } ?? ""
    throw StartupError("port \(port) on \(host) is already in use\(holder); stop it or give another --port")
  }

  /// The processes with a listening TCP socket on `port`, found through
  /// `/proc/net/tcp{,6}` and the socket links in `/proc/<pid>/fd` (Linux; others see
  /// only what they may read).
  static func holders(ofPort port: Int) -> [(pid: Int32, command: String)] {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
      guard let text = readProcFile(table) else { continue }
      for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 9, fields[3] == "0A",  // 0A: LISTEN
          let local = fields[1].split(separator: ":").last, Int(local, radix: 16) == port
        else { continue }
        inodes.insert(String(fields[9]))
      }
    }
    guard !inodes.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var found: [(Int32, String)] = []
    for entry in entries {
      guard let pid = Int32(entry),
        let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd")
      else { continue }
      let holds = fds.contains { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/fd/\(fd)"),
          target.hasPrefix("socket:[")
        else { return false }
        return inodes.contains(String(target.dropFirst(8).dropLast()))
      }
      if holds {
        let command = (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        found.append((pid, command))
      }
    }
    return found
  }

  /// The whole of a /proc file. `String(contentsOfFile:)` stops after the first page
  /// (4 KiB, 27 lines of /proc/net/tcp): procfs reports a size of 0, and a machine
  /// with a few hundred sockets had the listening one past it, so its holder went
  /// unnamed. `readToEnd()` reads until end of file.
  static func readProcFile(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    return (try? handle.readToEnd()).map { String(decoding: $0 ?? Data(), as: UTF8.self) }
  }
}
