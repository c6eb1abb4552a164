public import Foundation
import KilnEngine
import Synchronization

#if canImport(Glibc)
  public import Glibc
#endif

/// A child process for tests, started with `posix_spawn`.
///
/// Not Foundation's `Process`: on Linux, `Process.run()` of swift-corelibs-foundation
/// up to Swift 6.3.1 copies a whole 256-byte `d_name` out of each `/proc/self/fd`
/// entry (`findMaximumOpenFromProcSelfFD()`, Sources/Foundation/Process.swift:86),
/// reading past the end of glibc's buffer, and the test process crashes with a bad
/// pointer dereference in `memmove` now and then (it did here: swiftlang/
/// swift-corelibs-foundation#5472, fixed upstream in May 2026). The suites run many
/// servers, so the test process has many descriptors open, which makes it likelier.
/// kilnd's own steps never used `Process` (`ChildProcess` in KilnEngine).
public final class TestProcess: Sendable {
  /// Where one of the child's standard streams goes.
  public enum Stream: Sendable {
    /// `/dev/null`.
    case null
    /// A new pipe; the parent's end is in ``stdin``, ``stdout`` or ``stderr``.
    case pipe
    /// This descriptor of the parent's (which keeps it).
    case descriptor(Int32)
  }

  /// The child's process id.
  public let pid: pid_t
  /// The writing end of the child's standard input, when it is ``Stream/pipe``.
  public let stdin: FileHandle?
  /// The reading end of the child's standard output, when it is ``Stream/pipe``.
  public let stdout: FileHandle?
  /// The reading end of the child's standard error, when it is ``Stream/pipe``.
  public let stderr: FileHandle?
  private let status = Mutex<Int32?>(nil)
  /// Fired once the child is reaped (KilnEngine's level-triggered signal).
  private let exited = Signal()

  private init(pid: pid_t, stdin: FileHandle?, stdout: FileHandle?, stderr: FileHandle?) {
    self.pid = pid
    self.stdin = stdin
    self.stdout = stdout
    self.stderr = stderr
  }

  /// Starts `executable` with `arguments` and `environment` (this process's when `nil`).
  ///
  /// - Throws: `POSIXError` when the program cannot be started.
  public static func spawn(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
    stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null
  ) throws -> TestProcess {
    _ = ignoreBrokenPipes
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var parentEnds: [FileHandle?] = []
    var childEnds: [Int32] = []
    defer { childEnds.forEach { close($0) } }
    for (target, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
      switch stream {
      case .null:
        posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
        parentEnds.append(nil)
      case .descriptor(let descriptor):
        posix_spawn_file_actions_adddup2(&actions, descriptor, target)
        parentEnds.append(nil)
      case .pipe:
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        // The child closes everything from 3 up at spawn, so a concurrent spawn cannot keep these.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (childEnd, parentEnd) = target == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
        childEnds.append(childEnd)
        posix_spawn_file_actions_adddup2(&actions, childEnd, target)
        parentEnds.append(FileHandle(fileDescriptor: parentEnd, closeOnDealloc: true))
      }
    }
    // Nothing else of the test process's (its servers' sockets) reaches the child.
    let closed = systemAddCloseFrom(&actions, 3)
    guard closed == 0 else { throw POSIXError(POSIXErrorCode(rawValue: closed) ?? .EINVAL) }

    let path = executable.path
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
    let child = TestProcess(pid: pid, stdin: parentEnds[0], stdout: parentEnds[1], stderr: parentEnds[2])
    // One blocking waitpid per child, on its own thread: the concurrency pool stays free.
    Thread.detachNewThread { child.reap() }
    return child
  }

  private func reap() {
    var raw: Int32 = 0
    while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which the Glibc overlay does not export.
    let signal = raw & 0x7f
    status.withLock { $0 = signal == 0 ? (raw >> 8) & 0xff : signal }
    exited.fire()
  }

  /// Whether the child still runs (it has not been reaped).
  public var isRunning: Bool { status.withLock { $0 == nil } }

  /// Waits for the child to end: its exit status, or the signal that killed it.
  public func waitForExit() async -> Int32 {
    await exited.wait()
    return status.withLock { $0 ?? -1 }
  }

  /// Sends `signal` (SIGTERM by default) to the child, if it still runs.
  public func terminate(_ signal: Int32 = SIGTERM) {
    if isRunning { kill(pid, signal) }
  }
}

/// Writing to a child that has exited must fail with EPIPE, not kill the test process.
private let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

