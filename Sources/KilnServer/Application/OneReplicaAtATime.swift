import KilnPostgresStore
import ServiceLifecycle

/// Runs a service on one replica at a time among the kilnd sharing a PostgreSQL
/// database (the one holding an advisory lock; the others wait for it), and always
/// when the store is not shared (SQLite).
///
/// For work that every replica would otherwise do twice: delivering completion
/// callbacks. If the lock's connection drops, its holder runs on until it notices, and
/// another replica may start meanwhile: delivery is at least once, as it always was.
struct OneReplicaAtATime: Service {
  let service: any Service
  let store: PostgresJobStore?
  let lockKey: Int64

  func run() async throws {
    guard let store else { return try await service.run() }
    try await store.whileHoldingLock(lockKey) { try await service.run() }
  }
}
