import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Hands the memory the allocator keeps free back to the system, every `interval`.
///
/// glibc's malloc keeps freed memory in per-thread arenas and returns it to the system
/// only from the top of each heap: after 400 streams of a client that did not read were
/// ended, 708 MB stayed resident in kilnd with nothing using it. `malloc_trim(0)` releases
/// the free pages of every arena (`madvise(MADV_DONTNEED)`); it walks the free lists, which
/// takes well under a millisecond on an idle heap, so once every 30 seconds costs nothing
/// measurable. On a C library without it, the service only waits for shutdown.
struct MemoryTrimmer: Service {
  var interval: Duration = .seconds(30)

  /// When the process last trimmed: several applications in one process (tests,
  /// embeddings) trim once an interval between them, not once each.
  private static let lastTrim = Mutex<ContinuousClock.Instant?>(nil)

  private static func claimTrim(_ interval: Duration) -> Bool {
    lastTrim.withLock { last in
      let now = ContinuousClock.now
      if let previous = last, now - previous < interval { return false }
      last = now
      return true
    }
  }

  /// glibc's `malloc_trim`, looked up at run time: it is declared in `<malloc.h>`, which
  /// Swift's Glibc module does not include; `nil` on a C library without it (musl).
  static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    #if canImport(Glibc)
      guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
      return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    #else
      return nil
    #endif
  }()

  func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let interval = self.interval
      _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
      guard let trim = Self.mallocTrim, Self.claimTrim(interval) else { continue }
      // A trim walks and locks every arena, which can take a while on a large heap: on
      // NIO's thread pool, never on one of the concurrency pool's few threads.
      _ = try? await NIOThreadPool.singleton.runIfActive { _ = trim(0) }
    }
  }
}
