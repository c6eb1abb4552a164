import Foundation
import KilnCore
import KilnMetrics
import KilnStore
import Logging
import Synchronization
import PostgresNIO
import ServiceLifecycle

/// One connection, inside or outside a transaction, with the few ways the store reads.
struct SQLConnection {
  let connection: PostgresConnection
  let logger: Logger

  /// Runs a statement, reading no rows.
  func execute(_ query: PostgresQuery) async throws {
    _ = try await connection.query(query, logger: logger).collect()
  }

  /// Runs a statement and returns its rows.
  func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
    try await connection.query(query, logger: logger)
  }

  /// Every row, decoded as `type`.
  func rows<each Column: PostgresDecodable & Sendable>(
    _ query: PostgresQuery, as type: (repeat each Column).Type
  ) async throws -> [(repeat each Column)] {
    var result: [(repeat each Column)] = []
    for try await row in try await connection.query(query, logger: logger) {
      result.append(try row.decode(type))
    }
    return result
  }

  /// Every row's one column, decoded as `type`.
  func rows<Column: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Column.Type) async throws -> [Column] {
    var result: [Column] = []
    for try await row in try await connection.query(query, logger: logger) {
      result.append(try row.decode(Column.self))
    }
    return result
  }

  /// The first row, if any, decoded as `type`.
  func first<each Column: PostgresDecodable & Sendable>(
    _ query: PostgresQuery, as type: (repeat each Column).Type
  ) async throws -> (repeat each Column)? {
    for try await row in try await connection.query(query, logger: logger) {
      return try row.decode(type)
    }
    return nil
  }

  /// The first row's one column, if there is a row, decoded as `type`.
  func value<Column: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Column.Type) async throws -> Column? {
    for try await row in try await connection.query(query, logger: logger) {
      return try row.decode(Column.self)
    }
    return nil
  }
}

/// Hands out the revisions of one transaction's events, from the locked counter.
final class RevisionAllocator {
  private(set) var last: Int64

  init(after current: Int64) { last = current }

  /// The next revision.
  func next() -> Int64 {
    last += 1
    return last
  }
}

extension PostgresJobStore {
  /// Runs `body` on one pooled connection, in a read-only transaction at repeatable
  /// read when `consistent` (so that several statements see one snapshot).
  func read<T: Sendable>(consistent: Bool = false, _ body: @escaping @Sendable (SQLConnection) async throws -> T) async throws -> T {
    try await mappingFailures {
      try await client.withConnection { connection in
        let sql = SQLConnection(connection: connection, logger: logger)
        guard consistent else { return try await body(sql) }
        return try await Self.inTransaction(sql, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
      }
    }
  }

  /// Runs `body` in a read-committed transaction that writes no job change.
  func write<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) async throws -> T) async throws -> T {
    try await mappingFailures {
      try await client.withConnection { connection in
        try await Self.inTransaction(SQLConnection(connection: connection, logger: logger), begin: "BEGIN", body)
      }
    }
  }

  /// Runs `body` in a transaction that holds the revision counter's row lock from its
  /// first statement to its commit (see ``PostgresJobStore``), then announces the
  /// commit to this store's listeners and, through NOTIFY, to every replica's.
  func jobWrite<T: Sendable>(_ body: @escaping @Sendable (SQLConnection, RevisionAllocator) async throws -> T) async throws -> T {
    let start = ContinuousClock.now
    let (result, events, revision) = try await mappingFailures {
      try await client.withConnection { connection in
        try await Self.inTransaction(SQLConnection(connection: connection, logger: logger), begin: "BEGIN") { tx in
          guard let current = try await tx.value("SELECT value FROM revision_counter FOR UPDATE", as: Int64.self) else {
            throw KilnError(code: .internalError, message: "the revision counter row is missing")
          }
          let revisions = RevisionAllocator(after: current)
          let result = try await body(tx, revisions)
          if revisions.last != current {
            // One round trip for both, while the lock is held.
            try await tx.execute(
              """
              WITH bumped AS (UPDATE revision_counter SET value = \(revisions.last) RETURNING value)
              SELECT pg_notify(\(Self.commitChannel), value::TEXT) FROM bumped
              """)
          }
          return (result, revisions.last - current, revisions.last)
        }
      }
    }
    metrics.storeCommitted(duration: ContinuousClock.now - start, events: events)
    commits.publish(revision)
    return result
  }

  /// BEGIN, `body`, COMMIT; ROLLBACK when `body` throws, rethrowing its error (not
  /// postgres-nio's `PostgresTransactionError` wrapper, so that a ``KilnError`` thrown
  /// by a rule reaches the caller as it is). A connection whose ROLLBACK fails is
  /// closed, so the pool never hands out one still inside a transaction.
  static func inTransaction<T: Sendable>(
    _ sql: SQLConnection, begin: PostgresQuery, _ body: (SQLConnection) async throws -> T
  ) async throws -> T {
    try await sql.execute(begin)
    let result: T
    do {
      result = try await body(sql)
    } catch {
      do {
        try await sql.execute("ROLLBACK")
      } catch {
        try? await sql.connection.close()
      }
      throw error
    }
    try await sql.execute("COMMIT")
    return result
  }

  /// Turns a failure of the database or the connection into UNAVAILABLE (the change
  /// was not made, or its outcome is unknown, and a retry can succeed), and a unique
  /// key's violation by a concurrent writer into ALREADY_EXISTS. ``KilnError``s and
  /// anything else pass unchanged (anything else is a bug: INTERNAL).
  func mappingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as PSQLError {
      throw Self.kilnError(for: error) ?? error
    }
  }

  static func kilnError(for error: PSQLError) -> KilnError? {
    switch error.code {
    case .server:
      let state = error.serverInfo?[.sqlState] ?? ""
      let message = error.serverInfo?[.message] ?? ""
      if state == "23505" {
        return KilnError(code: .alreadyExists, message: "already exists (\(message))")
      }
      // Class 08 connection exception, 40 transaction rollback (serialization failure,
      // deadlock), 53 insufficient resources, 57 operator intervention (shutdown,
      // statement timeout), 58 system error: the database's trouble, not the request's.
      guard ["08", "40", "53", "57", "58"].contains(String(state.prefix(2))) else { return nil }
      return unavailable("PostgreSQL refused the transaction: \(message) (SQLSTATE \(state))")
    case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
      .sslUnsupported, .failedToAddSSLHandler, .queryCancelled:
      return unavailable("the connection to PostgreSQL failed (\(error.code))")
    default:
      return nil
    }
  }

  private static func unavailable(_ cause: String) -> KilnError {
    KilnError(
      code: .unavailable,
      message: "the change was not stored: \(cause); nothing was changed, try again once it is resolved")
  }

  // MARK: - Listening

  /// Listens for the commits of every replica and announces them here; reconnects
  /// after a failure, and then announces the current revision, which covers any
  /// notification sent while it was away; and polls the revision every second.
  func startListening() {
    // Captures what it uses, not the store: a store nobody holds any more is
    // deinitialized, which cancels this task.
    let (client, commits, logger) = (self.client, self.commits, self.logger)
    let task = Task {
      var delay = Duration.milliseconds(100)
      while !Task.isCancelled {
        do {
          try await client.withConnection { connection in
            try await connection.listen(on: Self.commitChannel) { notifications in
              // Listening from here on: whatever committed before is in the counter.
              let sql = SQLConnection(connection: connection, logger: logger)
              if let revision = try? await Self.latestRevision(sql) { commits.publish(revision) }
              delay = .milliseconds(100)
              for try await notification in notifications {
                if let revision = Int64(notification.payload) { commits.publish(revision) }
              }
            }
          }
        } catch {
          if Task.isCancelled { return }
          logger.warning("listening for commits failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
        }
        try? await Task.sleep(for: delay)
        delay = min(delay * 2, .seconds(5))
      }
    }
    // And a poll every second, for a notification lost without the connection
    // failing (the payload is only a wake-up: listeners read the log themselves).
    let poll = Task {
      var announced: Int64 = -1
      while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(1))
        let revision = try? await client.withConnection { connection in
          try await Self.latestRevision(SQLConnection(connection: connection, logger: logger))
        }
        if let revision, revision != announced {
          announced = revision
          commits.publish(revision)
        }
      }
    }
    tasks.withLock { $0.append(contentsOf: [task, poll]) }
  }
}

extension PostgresJobStore {
  /// Runs `body` while this store holds the database's session advisory lock `key`,
  /// on a connection of its own: waits (polling every second) while another replica
  /// holds it, and gives it up when `body` returns or throws. For the work one replica
  /// at a time must do (delivering completion callbacks).
  ///
  /// Returns without running `body` when the task is cancelled or shut down gracefully
  /// while waiting.
  public func whileHoldingLock(_ key: Int64, _ body: @Sendable () async throws -> Void) async throws {
    try await mappingFailures {
      try await client.withConnection { connection in
        let sql = SQLConnection(connection: connection, logger: logger)
        while try await sql.value("SELECT pg_try_advisory_lock(\(key))", as: Bool.self) != true {
          guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: .seconds(1)) })) != nil else { return }
        }
        do {
          try await body()
        } catch {
          _ = try? await sql.value("SELECT pg_advisory_unlock(\(key))", as: Bool.self)
          throw error
        }
        _ = try? await sql.value("SELECT pg_advisory_unlock(\(key))", as: Bool.self)
      }
    }
  }
}
