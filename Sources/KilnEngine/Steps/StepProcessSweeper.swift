import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Finds and kills step processes by the marks every `exec` step carries in its
/// environment.
///
/// Every step process starts with `KILN_STEP_OWNER` (the server's logs directory, one
/// per data directory) and `KILN_STEP_EXECUTION` (unique to that run of the step), and
/// every process it starts inherits them. The marks are the identity used to clean up:
/// - at start, before any job is requeued, the engine kills every process that carries
///   its owner mark: steps of a previous server that died (`kill -9`, OOM, power cut
///   of the process) and whatever they forked. A step therefore never runs twice at
///   once, and never outlives its server's restart;
/// - when a step ends, every process carrying its execution mark is killed: a
///   grandchild that left the step's process group (`setsid`, a daemon) goes too.
///
/// Why marks rather than a recorded pid and start time: a mark cannot be matched by a
/// reused pid, it covers descendants the server never saw (which a recorded group
/// leader does not: a daemon leaves the group), and it needs no write that a crash
/// between spawn and record could lose. A process that clears its own environment
/// (`env -i`) escapes the marks; its process group is still signalled when its
/// step stops. Linux only (`/proc`); elsewhere the sweep finds nothing.
enum StepProcessSweeper {
  /// The environment variable naming the server that owns a step process.
  static let ownerVariable = "KILN_STEP_OWNER"
  /// The environment variable naming one execution of one step.
  static let executionVariable = "KILN_STEP_EXECUTION"

  /// The live processes (other than this one) whose environment has `variable=value`.
  static func processes(withMark variable: String, value: String) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    let needle = Array("\(variable)=\(value)".utf8)
    let me = getpid()
    var found: [pid_t] = []
    for entry in entries {
      guard let pid = pid_t(entry), pid != me else { continue }
      guard let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
      if environment.split(separator: 0, omittingEmptySubsequences: true).contains(where: { $0.elementsEqual(needle) }) {
        found.append(pid)
      }
    }
    return found
  }

  /// Sends SIGKILL to every process with the mark (and to the process group it leads,
  /// if it leads one), until none is left or `timeout` passes.
  ///
  /// - Returns: How many distinct processes were signalled.
  @discardableResult
  static func killAll(withMark variable: String, value: String, timeout: Duration = .seconds(5)) -> Int {
    let ownGroup = getpgrp()
    var signalled = Set<pid_t>()
    let deadline = ContinuousClock.now + timeout
    while true {
      let pids = processes(withMark: variable, value: value)
      if pids.isEmpty || ContinuousClock.now >= deadline { break }
      for pid in pids {
        signalled.insert(pid)
        let group = getpgid(pid)
        if group == pid && group != ownGroup { kill(-group, SIGKILL) }
        kill(pid, SIGKILL)
      }
      // A killed process keeps its environment readable until it is reaped; its
      // parent (the reaping thread, or init for an orphan) does that within moments.
      usleep(10_000)
    }
    return signalled.count
  }
}
