public import Foundation
public import KilnCore

/// A secret that survives restarts (for example the key that signs page tokens).
public protocol SecretStore: Sendable {
  /// A random secret of 32 bytes that survives restarts, created on first use.
  func secret(named name: String) async throws -> Data
}

/// Everything the engine stores about jobs, in one database.
///
/// The store holds no business rules: the engine passes them in as closures that run
/// inside the store's write transaction. The requirements are split by concern (jobs,
/// leases, the event log, idempotency records, the callback outbox, subjects, secrets) so that
/// a component asks only for what it uses. Every implementation keeps these rules,
/// and `Tests/KilnStoreTests/Contract` checks them for each one:
///
/// 1. **One transaction per change.** A write method commits everything it writes (the
///    job, its event, its idempotency record, the callbacks it triggers, the jobs a
///    subject change discards) or nothing. A closure that throws leaves no trace.
/// 2. **Revisions in commit order, without gaps a watcher can see.** Each event takes
///    the next revision of one global sequence, and the job written carries it. A
///    reader that has seen revision `r` in ``JobEventLog/events(after:limit:)`` never
///    sees an event below `r` appear later, also with writers on other connections or
///    in other processes sharing the database. A commit is announced by
///    ``JobEventLog/commitNotifications()`` only once its events can be read.
/// 3. **Idempotency records in the change's transaction.** Of concurrent requests
///    with one request id, exactly one acts; the others get its answer, or are refused
///    (invalid argument) when their content differs.
/// 4. **Claims are exclusive.** Concurrent ``JobRecordStore/claimPendingJobs(maxRunning:maxRunningPerProject:excluding:now:lease:prepare:)``
///    calls never hand out one job twice nor exceed the limits.
/// 5. **Errors say whose fault they are.** Rule violations are ``KilnError``s (not
///    found, already exists, invalid argument, failed precondition); a failure of the
///    database underneath is UNAVAILABLE (see ``StorageFailure``).
public protocol JobStore: JobRecordStore, JobLeases, JobEventLog, IdempotencyRecords, CallbackOutbox, SubjectStore, SecretStore {
  /// The job with this id, if any, carrying its callback deliveries (newest first, at
  /// most `callbackLimit`): a job's detail. A store that can reads both at once.
  func jobDetail(id: String, callbackLimit: Int) async throws -> Job?
}

extension JobStore {
  /// Two reads: the job, then its deliveries.
  public func jobDetail(id: String, callbackLimit: Int) async throws -> Job? {
    guard var job = try await job(id: id) else { return nil }
    job.callbackDeliveries = try await callbackDeliveries(jobID: id, limit: callbackLimit)
    return job
  }
}
