public import Foundation
public import KilnCore

/// A claim on a RUNNING job by one kilnd process (replica), good until its expiry.
public struct JobLease: Sendable, Hashable {
  /// The replica holding the job.
  public var owner: String
  /// When the lease runs out unless renewed.
  public var expiry: Date

  /// Creates a lease.
  public init(owner: String, expiry: Date) {
    self.owner = owner
    self.expiry = expiry
  }
}

/// Leases on running jobs, for several kilnd processes sharing one database.
///
/// ``JobRecordStore/claimPendingJobs(maxRunning:maxRunningPerProject:excluding:now:lease:prepare:)``
/// gives each job it starts a lease; the owner renews its leases while it runs them, and
/// a job whose lease has run out (its owner died or lost the database) is requeued by
/// whoever sweeps first. Runners' writes are fenced by the job's execution number,
/// which each claim increments, so a replica that lost a job can change nothing of it.
/// Leases live beside the job, not in it: renewing one writes no event.
public protocol JobLeases: Sendable {
  /// Extends to `until` the leases `owner` holds on the RUNNING jobs among `jobIDs`
  /// (those it still runs: a job it holds but no longer runs is left to run out, and is
  /// then requeued like a dead replica's).
  ///
  /// - Returns: Which of `jobIDs` `owner` holds: a job it runs that is not among them was
  ///   taken from it (requeued after its lease ran out) or left RUNNING.
  func renewLeases(owner: String, jobIDs: Set<String>, until: Date) async throws -> Set<String>

  /// Requeues, in one transaction, the RUNNING jobs held by `owner` (the previous life
  /// of a replica that restarted) and those whose lease ran out before `expiredBefore`
  /// (or that have none), each with `prepare` applied and an event at `now`.
  ///
  /// - Parameters:
  ///   - owner: A replica whose jobs are requeued whatever their lease; `nil` for none.
  ///   - expiredBefore: Leases that ran out before this are taken; `nil` takes none
  ///     (only `owner`'s jobs).
  ///   - prepare: Moves the job back to PENDING; returns false to leave it.
  /// - Returns: The jobs requeued.
  func requeueRunningJobs(
    heldBy owner: String?, leaseExpiredBefore expiredBefore: Date?, now: Date,
    prepare: @escaping @Sendable (inout Job) -> Bool
  ) async throws -> [Job]
}
