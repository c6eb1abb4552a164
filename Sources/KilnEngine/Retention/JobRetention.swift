public import Foundation
public import KilnCore
public import KilnStore
public import Logging
public import ServiceLifecycle

/// Deletes FINISHED and DISCARDED jobs whose last change is older than ``keepFor``,
/// with their step logs, as Kylin does with its jobs after 30 days. Each leaves a
/// deleted event in the event log, so watchers see it go.
///
/// The sweep works in batches, each one small transaction (found through the index on
/// status and update time), and removes a batch's logs after its transaction commits.
/// So a crash mid-sweep leaves either jobs still to sweep (the next sweep takes them)
/// or log directories of deleted jobs, which ``removeOrphanedLogs()`` removes when the
/// service starts. Deleting the row first means no job ever exists without its logs.
public struct JobRetention: Service {
  let store: any JobRecordStore
  let stepLogs: StepLogDirectory
  /// How long an ended job is kept after its last change; `.zero` keeps jobs forever.
  public let keepFor: Duration
  /// Time between two sweeps.
  public let interval: Duration
  /// The most jobs one transaction deletes.
  public let batchSize: Int
  let logger: Logger

  /// The statuses whose jobs retention deletes: the ones that allow a delete.
  public static let statuses: Set<JobStatus> = [.finished, .discarded]

  /// Creates the service.
  ///
  /// - Parameters:
  ///   - stepLogs: The engine's step logs (``JobEngine/stepLogs``).
  ///   - keepFor: How long an ended job is kept; `.zero` keeps jobs forever.
  public init(
    store: any JobRecordStore, stepLogs: StepLogDirectory, keepFor: Duration, interval: Duration = .seconds(600),
    batchSize: Int = 100, logger: Logger
  ) {
    self.store = store
    self.stepLogs = stepLogs
    self.keepFor = keepFor
    self.interval = interval
    self.batchSize = max(batchSize, 1)
    self.logger = logger
  }

  /// Deletes one batch of expired jobs, then their logs.
  ///
  /// - Parameter now: The time ages are measured at.
  /// - Returns: The ids of the deleted jobs (none when ``keepFor`` is zero).
  @discardableResult
  public func sweepBatch(now: Date = Date()) async throws -> [String] {
    guard keepFor > .zero else { return [] }
    let cutoff = now.addingTimeInterval(-keepFor.timeInterval)
    let deleted = try await store.deleteJobs(
      statuses: Self.statuses, updatedBefore: cutoff, limit: batchSize, now: .kilnNow())
    for id in deleted { await stepLogs.removeLogs(jobID: id) }
    return deleted
  }

  /// Deletes every expired job, batch by batch.
  ///
  /// - Returns: How many jobs were deleted.
  @discardableResult
  public func sweep(now: Date = Date()) async throws -> Int {
    var total = 0
    while !Task.isCancelled {
      let deleted = try await sweepBatch(now: now)
      total += deleted.count
      if deleted.count < batchSize { break }
    }
    if total > 0 { logger.info("deleted expired jobs", metadata: ["count": "\(total)"]) }
    return total
  }

  /// Removes the log directories of jobs that no longer exist: what a crash between a
  /// job's deletion and the removal of its logs leaves behind.
  ///
  /// - Returns: How many directories were removed.
  @discardableResult
  public func removeOrphanedLogs() async throws -> Int {
    let names = await stepLogs.jobIDsWithLogs()
    var removed = 0
    for start in stride(from: 0, to: names.count, by: 500) {
      let chunk = Array(names[start..<min(start + 500, names.count)])
      let existing = try await store.existingJobIDs(among: chunk)
      removed += await stepLogs.removeJobDirectories(chunk.filter { !existing.contains($0) })
    }
    if removed > 0 { logger.notice("removed logs of deleted jobs", metadata: ["count": "\(removed)"]) }
    return removed
  }

  /// Removes orphaned logs once, then sweeps at every interval until graceful shutdown.
  public func run() async throws {
    do {
      try await removeOrphanedLogs()
    } catch {
      logger.error("cannot look for logs of deleted jobs: \(error)")
    }
    guard keepFor > .zero else {
      // Keeps jobs forever; a service that returned would stop the whole group.
      try? await gracefulShutdown()
      return
    }
    await everyInterval(interval, logger: logger, failure: "cannot delete expired jobs") { try await sweep() }
  }
}
