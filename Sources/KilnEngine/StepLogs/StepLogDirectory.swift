public import Foundation
import KilnCore

/// The step-log directory: its layout, `<root>/<job id>/<attempt>/<step index>.log`,
/// and every operation on it (writing, reading, removing a job's logs, sweeping the
/// logs of jobs that no longer exist). Nothing else builds a log path.
///
/// Reads and removals run on NIO's thread pool (``BlockingIO``): a read of up to 4 MiB
/// or a recursive delete must not hold a thread of the concurrency pool every handler
/// shares.
public struct StepLogDirectory: Sendable {
  /// The directory all logs live under.
  public let root: URL

  /// The directory at `root`; it is created when the first log is written.
  public init(root: URL) {
    self.root = root
  }

  /// The log of step `stepIndex` of attempt `attempt` of a job.
  func file(jobID: String, attempt: Int, stepIndex: Int) -> StepLogFile {
    StepLogFile(url: attemptDirectory(jobID: jobID, attempt: attempt).appendingPathComponent("\(stepIndex).log"))
  }

  private func jobDirectory(jobID: String) -> URL {
    root.appendingPathComponent(jobID, isDirectory: true)
  }

  private func attemptDirectory(jobID: String, attempt: Int) -> URL {
    jobDirectory(jobID: jobID).appendingPathComponent("\(attempt)", isDirectory: true)
  }

  /// What ``read(_:from:limit:)`` found.
  struct ReadResult: Sendable {
    /// The bytes read.
    var data: Data
    /// The log's size when it was read; `nil` when it does not exist yet.
    var size: Int64?
  }

  /// Up to `limit` bytes of `file` from `offset`; nothing when the file does not exist yet.
  /// - Throws: ``KilnError`` (out of range) when `offset` is past the end of the log.
  func read(_ file: StepLogFile, from offset: Int64, limit: Int) async throws -> ReadResult {
    try await BlockingIO.runThrowing {
      guard let handle = try? FileHandle(forReadingFrom: file.url) else { return ReadResult(data: Data(), size: nil) }
      defer { try? handle.close() }
      let size = Int64(try handle.seekToEnd())
      guard offset <= size else {
        throw KilnError(code: .outOfRange, message: "offset: \(offset) is past the end of the log (\(size) bytes)")
      }
      try handle.seek(toOffset: UInt64(offset))
      return ReadResult(data: try handle.read(upToCount: limit) ?? Data(), size: size)
    }
  }

  /// Removes a job's logs: every attempt's but `keepingAttempt`'s, or all of them (and
  /// the job's directory) when it is `nil`.
  package func removeLogs(jobID: String, keepingAttempt: Int? = nil) async {
    let directory = jobDirectory(jobID: jobID)
    await BlockingIO.run {
      let fileManager = FileManager.default
      guard let attempts = try? fileManager.contentsOfDirectory(atPath: directory.path) else { return }
      for attempt in attempts where attempt != keepingAttempt.map(String.init) {
        try? fileManager.removeItem(at: directory.appendingPathComponent(attempt))
      }
      if keepingAttempt == nil { try? fileManager.removeItem(at: directory) }
    }
  }

  /// The ids of the jobs that have a log directory.
  func jobIDsWithLogs() async -> [String] {
    let root = self.root
    return await BlockingIO.run {
      let fileManager = FileManager.default
      let names = (try? fileManager.contentsOfDirectory(atPath: root.path)) ?? []
      return names.filter { name in
        var isDirectory: ObjCBool = false
        return fileManager.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
          && isDirectory.boolValue
      }
    }
  }

  /// Removes the log directories of these jobs.
  /// - Returns: How many were removed.
  func removeJobDirectories(_ jobIDs: [String]) async -> Int {
    let directories = jobIDs.map(jobDirectory(jobID:))
    return await BlockingIO.run {
      directories.filter { (try? FileManager.default.removeItem(at: $0)) != nil }.count
    }
  }
}

/// The log file of one step of one attempt of a job (see ``StepLogDirectory``).
struct StepLogFile: Sendable {
  let url: URL

  /// Creates the file's directory and opens the file for appending.
  ///
  /// - Returns: A file descriptor with close-on-exec set, for the caller to close.
  func openForAppend() throws -> Int32 {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    return fd
  }

  /// Starts the log: creates its directory and appends the first line.
  func begin(_ line: String) {
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    append(line)
  }

  /// Appends a line (a newline is added) to a log that ``begin(_:)`` started. Creates no
  /// directory: the last lines of a step stopped by a delete come after the job's logs
  /// were removed, and must not bring its directory back.
  func append(_ line: String) {
    let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }
}
