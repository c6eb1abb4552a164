import Foundation
import Synchronization

#if canImport(Glibc)
  package import Glibc
#elseif canImport(Darwin)
  package import Darwin
#endif

/// A child process that leads its own process group.
///
/// Written on `posix_spawn` by hand rather than with Foundation's `Process`,
/// because an `exec` step needs three things `Process` does not give: its own
/// process group (so pause and discard signal every process the step started,
/// not just the first), an extra inherited descriptor (the progress channel on
/// fd 3), and stdout/stderr written straight to the log file.
final class ChildProcess: Sendable {
  /// The child's pid, which is also its process group id.
  let pid: pid_t
  private let exit = Mutex<ExitState>(ExitState())

  private struct ExitState {
    var status: Int32?
    var waiters: [CheckedContinuation<Int32, Never>] = []
  }

  private init(pid: pid_t) {
    self.pid = pid
  }

  /// Starts `program` with `arguments`, never through a shell.
  ///
  /// - Parameters:
  ///   - outputFD: Receives the child's stdout and stderr.
  ///   - progressFD: Becomes the child's fd 3.
  static func spawn(
    program: String, arguments: [String], environment: [String: String], outputFD: Int32, progressFD: Int32
  ) throws -> ChildProcess {
    // Descriptors 0...3 are the child's own; moving ours above them keeps dup2 from
    // being a no-op that would leave close-on-exec set.
    let output = fcntl(outputFD, F_DUPFD_CLOEXEC, 10)
    let progress = fcntl(progressFD, F_DUPFD_CLOEXEC, 10)
    defer {
      close(output)
      close(progress)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, output, 1)
    posix_spawn_file_actions_adddup2(&actions, output, 2)
    posix_spawn_file_actions_adddup2(&actions, progress, 3)
    // Nothing else of the server's: without this a step inherited every descriptor
    // kilnd had not marked close-on-exec (its listening socket, client connections,
    // epoll instances), so after a crash the orphaned step held kilnd's port.
    let closed = systemAddCloseFrom(&actions, 4)
    guard closed == 0 else { throw POSIXError(POSIXErrorCode(rawValue: closed) ?? .EINVAL) }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setpgroup(&attributes, 0)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO)
    }
    let child = ChildProcess(pid: pid)
    // A blocking waitpid per running step: the number of running steps is bounded by
    // the engine's concurrency limit, and it keeps the concurrency pool free.
    Thread.detachNewThread { child.reap() }
    return child
  }

  private func reap() {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    // The step is over: whatever else it left running in its group goes too.
    kill(-pid, SIGKILL)
    let waiters = exit.withLock { state in
      state.status = status
      defer { state.waiters = [] }
      return state.waiters
    }
    waiters.forEach { $0.resume(returning: status) }
  }

  /// Waits for the child to exit and returns its raw wait status.
  func waitForExit() async -> Int32 {
    await withCheckedContinuation { continuation in
      let status: Int32? = exit.withLock { state in
        if let status = state.status { return status }
        state.waiters.append(continuation)
        return nil
      }
      if let status { continuation.resume(returning: status) }
    }
  }

  /// Whether the child has exited and been reaped.
  var hasExited: Bool { exit.withLock { $0.status != nil } }

  /// Sends SIGTERM to the whole group, then SIGKILL after `grace` if the leader still runs.
  func terminate(grace: Duration) {
    kill(-pid, SIGTERM)
    let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
      if !self.hasExited { kill(-self.pid, SIGKILL) }
    }
  }

  /// A readable description of a raw wait status.
  static func describe(status: Int32) -> (success: Bool, text: String) {
    let signal = status & 0x7f
    if signal == 0 {
      let code = (status >> 8) & 0xff
      return (code == 0, "exited with status \(code)")
    }
    return (false, "killed by signal \(signal)")
  }
}

/// `posix_spawn_file_actions_addclosefrom_np(3)` (glibc 2.34 and later), which Glibc's
/// Swift overlay does not export: the child closes every descriptor from `from` up,
/// with `close_range(2)`, before it execs. Declared once here; the tests' process
/// spawner (`KilnTestSupport/TestProcess`) uses it too.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
package func systemAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
