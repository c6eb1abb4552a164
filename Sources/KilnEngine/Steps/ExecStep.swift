import Foundation
import KilnCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a program named by the configuration as one step.
///
/// The contract with the program: argv is the configured arguments with `${...}`
/// placeholders filled; stdin is /dev/null; stdout and stderr go to the step's log;
/// exit status 0 is success; lines `KILN_PROGRESS <0-100>` written to the descriptor
/// in `KILN_PROGRESS_FD` (3) report progress. The environment is the server's plus the
/// configured variables plus `KILN_JOB_ID`, `KILN_PROJECT`, `KILN_SUBJECT`,
/// `KILN_ATTEMPT`, `KILN_STEP`, and the marks of ``StepProcessSweeper``
/// (`KILN_STEP_OWNER`, `KILN_STEP_EXECUTION`). The program inherits no other descriptor
/// of the server. When the step ends, whatever it left running is killed. When the step is stopped, its whole process group gets
/// SIGTERM, then SIGKILL after the grace period.
enum ExecStep {
  static func run(
    program: String, arguments: [String], environment: [String: String], context: StepContext,
    grace: Duration
  ) async -> StepOutcome {
    var values = context.params
    values["job_id"] = context.jobID
    values["project"] = context.project
    values["subject"] = context.subject
    values["attempt"] = String(context.attempt)
    values["step"] = context.stepName
    let argv = arguments.map { ArgumentTemplate.render($0, values: values) }
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = ArgumentTemplate.render(value, values: values) }
    env["KILN_JOB_ID"] = context.jobID
    env["KILN_PROJECT"] = context.project
    env["KILN_SUBJECT"] = context.subject
    env["KILN_ATTEMPT"] = String(context.attempt)
    env["KILN_STEP"] = context.stepName
    env["KILN_PROGRESS_FD"] = "3"
    let execution = "\(context.jobID)/\(context.attempt)/\(context.stepIndex)/\(UUID().uuidString.lowercased())"
    env[StepProcessSweeper.ownerVariable] = context.stepOwner
    env[StepProcessSweeper.executionVariable] = execution

    let logFD: Int32
    do {
      logFD = try context.log.openForAppend()
    } catch {
      return .failed("cannot open the step log: \(error)")
    }
    defer { close(logFD) }
    var pipeFDs: [Int32] = [0, 0]
    guard systemPipe2(&pipeFDs, O_CLOEXEC) == 0 else { return .failed("cannot create the progress pipe") }
    let (readFD, writeFD) = (pipeFDs[0], pipeFDs[1])

    let child: ChildProcess
    do {
      child = try ChildProcess.spawn(
        program: program, arguments: argv, environment: env, outputFD: logFD, progressFD: writeFD)
    } catch {
      close(readFD)
      close(writeFD)
      return .failed("cannot start \(program): \(error)")
    }
    close(writeFD)
    let report = context.reportProgress
    Thread.detachNewThread { readProgress(fd: readFD, report: report) }

    let status = await withTaskCancellationHandler {
      await child.waitForExit()
    } onCancel: {
      child.terminate(grace: grace)
    }
    // The leader is gone and its group was killed; a descendant that left the group
    // (a daemon) still carries the execution's mark.
    let escaped = await BlockingIO.run {
      StepProcessSweeper.killAll(withMark: StepProcessSweeper.executionVariable, value: execution)
    }
    if escaped > 0 { context.log.append("=== killed \(escaped) process(es) the step left running outside its group ===") }
    if Task.isCancelled { return .stopped }
    let (success, text) = ChildProcess.describe(status: status)
    return success ? .succeeded : .failed("\(program) \(text)")
  }

  /// Reads `KILN_PROGRESS <n>` lines until every writer has closed the pipe.
  private static func readProgress(fd: Int32, report: @Sendable (Int) -> Void) {
    defer { close(fd) }
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return }
      pending.append(contentsOf: buffer[0..<count])
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        if let value = parseProgress(line) { report(value) }
      }
      if pending.count > 4096 { pending.removeAll() }
    }
  }

  /// Parses `KILN_PROGRESS 42`; anything else is ignored.
  static func parseProgress(_ line: String) -> Int? {
    let parts = line.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 2, parts[0] == "KILN_PROGRESS", let value = Int(parts[1]) else { return nil }
    return min(max(value, 0), 100)
  }
}

/// `pipe2(2)`, which Glibc's Swift overlay does not export: it creates both ends with
/// close-on-exec set atomically, so a step spawned concurrently cannot inherit them.
@_silgen_name("pipe2")
private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
