public import Foundation
public import KilnCore

extension JobEngine {
  /// A chunk of a step's log.
  public struct LogChunk: Sendable, Hashable {
    /// The bytes read.
    public var data: Data
    /// The offset to read on from.
    public var nextOffset: Int64
    /// True when the step no longer runs and `nextOffset` is the end of its log.
    public var complete: Bool
    /// The step's status when the chunk was read.
    public var stepStatus: JobStatus
    /// The job's status when the chunk was read.
    public var jobStatus: JobStatus

    /// Whether the step may still write to this log: it runs, or waits to run in a job
    /// that is queued or running.
    public var stepMayWrite: Bool {
      stepStatus == .running || (stepStatus == .pending && (jobStatus == .pending || jobStatus == .running))
    }
  }

  /// Reads a step's log of the job's current attempt.
  ///
  /// - Parameters:
  ///   - step: The step's id (`<job id>-<index>`), its index, or its name.
  ///   - offset: The byte offset to read from.
  ///   - limit: The most bytes to return.
  /// - Throws: ``KilnError``: not found (job or step; also a job the caller may not see),
  ///   invalid argument (offset, limit).
  public func readStepLog(jobID: String, step: String, offset: Int64, limit: Int, caller: Caller) async throws
    -> LogChunk
  {
    guard offset >= 0 else { throw KilnError.invalidArgument(field: "offset", "is negative") }
    guard limit > 0 else { throw KilnError.invalidArgument(field: "limit", "must be positive") }
    let job = try await job(id: jobID, caller: caller)
    guard let index = Self.stepIndex(in: job, matching: step) else {
      throw KilnError(code: .notFound, message: "job \(jobID) has no step \(step)")
    }
    let log = StepLog(logsDirectory: configuration.logsDirectory, jobID: job.id, attempt: job.attempt, stepIndex: index)
    let running = job.steps[index].status == .running
    let (stepStatus, jobStatus) = (job.steps[index].status, job.status)
    let url = log.url
    // Up to `limit` (4 MiB) bytes read from disk: on NIO's thread pool, not on a thread
    // of the concurrency pool that every handler shares.
    return try await BlockingIO.runThrowing {
      guard let handle = try? FileHandle(forReadingFrom: url) else {
        return LogChunk(data: Data(), nextOffset: 0, complete: !running, stepStatus: stepStatus, jobStatus: jobStatus)
      }
      defer { try? handle.close() }
      let size = Int64(try handle.seekToEnd())
      guard offset <= size else {
        throw KilnError(code: .outOfRange, message: "offset: \(offset) is past the end of the log (\(size) bytes)")
      }
      try handle.seek(toOffset: UInt64(offset))
      let data = try handle.read(upToCount: limit) ?? Data()
      let next = offset + Int64(data.count)
      return LogChunk(
        data: data, nextOffset: next, complete: !running && next >= size, stepStatus: stepStatus, jobStatus: jobStatus)
    }
  }

  static func stepIndex(in job: Job, matching step: String) -> Int? {
    if let byID = job.steps.firstIndex(where: { $0.id(jobID: job.id) == step }) { return byID }
    if let index = Int(step), job.steps.indices.contains(index) { return index }
    return job.steps.firstIndex { $0.name == step }
  }
}
