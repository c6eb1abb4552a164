import Foundation
import GRPCCore
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The disk under the data directory fills up or turns read-only: mutations are refused
/// with UNAVAILABLE naming the cause, reads keep working, and writes work again once
/// the cause is gone. The data directory is a small tmpfs of its own (root only, as CI
/// runs; elsewhere the suite is skipped).
@Suite("Storage faults", .enabled("needs root, to mount a tmpfs") { await Tmpfs.canMount() }, .timeLimit(.minutes(2)))
struct StorageFaultTests {
  /// Runs `body` with a harness whose data directory is a tmpfs of `megabytes`, then
  /// unmounts it, also when `body` throws.
  func withMountedHarness(megabytes: Int, _ body: (ServerHarness) async throws -> Void) async throws {
    // SQLite's faults: its database lives in the data directory.
    let harness = ServerHarness(postgres: false)
    try FileManager.default.createDirectory(at: harness.dataDirectory, withIntermediateDirectories: true)
    let mounted = await Tmpfs.run("/bin/mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", harness.dataDirectory.path)
    try #require(mounted == 0)
    do {
      try await body(harness)
    } catch {
      await unmount(harness)
      throw error
    }
    await unmount(harness)
  }

  func unmount(_ harness: ServerHarness) async {
    await Tmpfs.run("/bin/umount", "-l", harness.dataDirectory.path)
    harness.cleanUp()
  }

  /// Fills the file system with one file until a write fails.
  func fill(_ url: URL) {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    defer { close(fd) }
    let chunk = [UInt8](repeating: 0x55, count: 64 * 1024)
    while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    fsync(fd)
  }

  @Test("a full disk refuses mutations with UNAVAILABLE naming the cause; reads work; writes resume when space returns")
  func diskFull() async throws {
    try await withMountedHarness(megabytes: 16) { harness in
      try await harness.run { jobs, _ in
        let first = try await jobs.submit(params: ["sleep_ms": "0"])
        let filler = harness.dataDirectory.appendingPathComponent("filler")
        fill(filler)
        // The WAL may still have room for a few small commits: write until one is refused.
        var refusal: RPCError?
        var acknowledged = [first.id]
        for i in 0..<500 where refusal == nil {
          do {
            acknowledged.append(try await jobs.submit(params: ["sleep_ms": "0", "pad": String(repeating: "x", count: 2000 + i)]).id)
          } catch let error as RPCError {
            refusal = error
          }
        }
        let refused = try #require(refusal, "no write failed on a full disk")
        #expect(refused.code == .unavailable, "\(refused)")
        #expect(refused.message.contains("disk holding the data directory is full"), "\(refused.message)")
        // Reads keep working, and every acknowledged job is there.
        #expect(try await jobs.get(first.id).id == first.id)
        let listed = try await jobs.listJobs(.with { $0.pageSize = 1000 }).jobs.map(\.id)
        #expect(Set(acknowledged).isSubset(of: Set(listed)))

        try FileManager.default.removeItem(at: filler)
        let after = try await jobs.submit(params: ["sleep_ms": "0"])
        #expect(try await jobs.waitFor(after.id, .finished))
        // A runner whose write failed on the full disk retried it: no job is left RUNNING.
        for id in acknowledged { #expect(try await jobs.waitFor(id, .finished), "job \(id)") }
      }
    }
  }

  /// A running server's files keep the file system from being remounted read-only
  /// (EBUSY), so this is the read-only data directory found at start; a file system
  /// that turns read-only under a running server gets the same UNAVAILABLE as a full
  /// one (SQLITE_READONLY, SQLITE_IOERR: see `StorageFailureTests`).
  @Test("a read-only data directory stops the start with one line naming the cause")
  func readOnlyAtStart() async throws {
    try await withMountedHarness(megabytes: 16) { harness in
      try await harness.serve { _, _ in }
      let remounted = await Tmpfs.run("/bin/mount", "-o", "remount,ro", harness.dataDirectory.path)
      try #require(remounted == 0)
      do {
        try await harness.prepareStore()
        _ = try await KilnApplication(configuration: harness.configuration(), logger: StartupTests.logger)
        Issue.record("the server started on a read-only data directory")
      } catch let error as StartupError {
        #expect(error.message.contains("Read-only file system"), "\(error.message)")
        #expect(error.message.contains(harness.dataDirectory.path), "\(error.message)")
      }
    }
  }
}

/// Mounting a small tmpfs, for the storage-fault tests.
enum Tmpfs {
  /// Whether this process may mount and unmount a tmpfs (tried once, on a probe).
  static func canMount() async -> Bool {
    guard geteuid() == 0 else { return false }
    let probe = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-mount-probe-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: probe) }
    guard await run("/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe.path) == 0 else { return false }
    return await run("/bin/umount", probe.path) == 0
  }

  /// Runs a command to its end (off the concurrency pool); its exit status, -1 when it
  /// cannot start.
  @discardableResult
  static func run(_ arguments: String...) async -> Int32 {
    (try? await ChildProcessRunner.run(URL(fileURLWithPath: arguments[0]), Array(arguments.dropFirst())))?.status ?? -1
  }

}
