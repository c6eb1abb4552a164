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
    let file = stepLogs.file(jobID: job.id, attempt: job.attempt, stepIndex: index)
    let (stepStatus, jobStatus) = (job.steps[index].status, job.status)
    let read = try await stepLogs.read(file, from: offset, limit: limit)
    // No file yet: nothing written, so the next read starts at 0.
    guard let size = read.size else {
      return LogChunk(data: Data(), nextOffset: 0, complete: stepStatus != .running, stepStatus: stepStatus, jobStatus: jobStatus)
    }
    let next = offset + Int64(read.data.count)
    return LogChunk(
      data: read.data, nextOffset: next, complete: stepStatus != .running && next >= size, stepStatus: stepStatus,
      jobStatus: jobStatus)
  }

  static func stepIndex(in job: Job, matching step: String) -> Int? {
    if let byID = job.steps.firstIndex(where: { $0.id(jobID: job.id) == step }) { return byID }
    if let index = Int(step), job.steps.indices.contains(index) { return index }
    return job.steps.firstIndex { $0.name == step }
  }
}
