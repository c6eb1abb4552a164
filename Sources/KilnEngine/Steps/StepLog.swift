import Foundation

/// The log file of one step of one attempt of a job.
struct StepLog: Sendable {
  let url: URL

  init(logsDirectory: URL, jobID: String, attempt: Int, stepIndex: Int) {
    url = Self.attemptDirectory(logsDirectory: logsDirectory, jobID: jobID, attempt: attempt)
      .appendingPathComponent("\(stepIndex).log")
  }

  static func jobDirectory(logsDirectory: URL, jobID: String) -> URL {
    logsDirectory.appendingPathComponent(jobID, isDirectory: true)
  }

  static func attemptDirectory(logsDirectory: URL, jobID: String, attempt: Int) -> URL {
    jobDirectory(logsDirectory: logsDirectory, jobID: jobID).appendingPathComponent("\(attempt)", isDirectory: true)
  }

  /// Creates the file's directory and opens the file for appending.
  ///
  /// - Returns: A file descriptor with close-on-exec set, for the caller to close.
  func openForAppend() throws -> Int32 {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    return fd
  }

  /// Appends a line (a newline is added).
  func append(_ line: String) {
    guard let fd = try? openForAppend() else { return }
    defer { close(fd) }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }
}
