public import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on a data directory, so that two servers never share one SQLite
/// file (and never run the same jobs twice).
///
/// `flock(2)` on `<data-dir>/kilnd.lock`, which holds the owner's pid for the error
/// message. The kernel drops the lock when the process dies, however it dies, so a
/// crash never leaves a stale lock behind.
public final class DataDirectoryLock: Sendable {
  private let descriptor: Mutex<Int32?>
  /// The lock file.
  public let path: String

  /// Takes the lock on `directory`.
  ///
  /// - Throws: ``StartupError`` naming the other server's pid when it holds the lock,
  ///   or the cause when the directory cannot be written.
  public init(directory: URL) throws {
    path = directory.appendingPathComponent("kilnd.lock").path
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw StartupError("cannot open \(path): \(String(cString: strerror(errno))); is the data directory writable?")
    }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let code = errno
      let holder = Self.readPID(fd)
      close(fd)
      if code == EWOULDBLOCK {
        let who = holder.map { "another kilnd (pid \($0))" } ?? "another kilnd"
        throw StartupError("\(who) is already using the data directory \(directory.path); stop it or give another --data-dir")
      }
      throw StartupError("cannot lock \(path): \(String(cString: strerror(code)))")
    }
    ftruncate(fd, 0)
    let text = "\(getpid())\n"
    _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    descriptor = Mutex(fd)
  }

  /// Releases the lock (once the server has stopped); the file stays for the next start.
  public func release() {
    descriptor.withLock { fd in
      if let open = fd { close(open) }
      fd = nil
    }
  }

  private static func readPID(_ fd: Int32) -> Int? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard count > 0 else { return nil }
    return Int(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
  }

  deinit {
    release()
  }
}
