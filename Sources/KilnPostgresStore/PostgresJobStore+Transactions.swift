import Foundation
import KilnCore
import KilnStore
import Logging
import Synchronization
import PostgresNIO

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
    let (result, revision) = try await mappingFailures {
      try await client.withConnection { connection in
        try await Self.inTransaction(SQLConnection(connection: connection, logger: logger), begin: "BEGIN") { tx in
          guard let current = try await tx.value("SELECT value FROM revision_counter FOR UPDATE", as: Int64.self) else {
            throw KilnError(code: .internalError, message: "the revision counter row is missing")
          }
          let revisions = RevisionAllocator(after: current)
          let result = try await body(tx, revisions)
          if revisions.last != current {
            try await tx.execute("UPDATE revision_counter SET value = \(revisions.last)")
            try await tx.execute("SELECT pg_notify(\(Self.commitChannel), \(String(revisions.last)))")
          }
          return (result, revisions.last)
        }
      }
    }
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
  /// notification sent while it was away.
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
    tasks.withLock { $0.append(task) }
  }
}

extension PostgresJobStore {
  /// Makes this store the only kilnd on the database until ``close()``: a session
  /// advisory lock held on a connection of its own.
  ///
  /// Several kilnd on one database need leases on running jobs (each replica would
  /// otherwise take the others' RUNNING jobs for its own crashed ones at start); until
  /// those exist, a second kilnd is refused at start, naming the first.
  ///
  /// - Parameter owner: Who holds it (host and process), shown to the one refused.
  /// - Throws: ``KilnError`` (failed precondition) when another kilnd holds it.
  public func holdExclusiveUse(owner: String) async throws {
    let acquired = AsyncStream<Result<Void, any Error>>.makeStream()
    let client = self.client
    let logger = self.logger
    let task = Task {
      do {
        try await client.withConnection { connection in
          let sql = SQLConnection(connection: connection, logger: logger)
          // A kilnd that just stopped (or was killed) may still be leaving: its session,
          // and the lock with it, ends within moments.
          var locked = false
          for attempt in 0..<30 {
            locked = try await sql.value("SELECT pg_try_advisory_lock(7077002)", as: Bool.self) == true
            if locked || Task.isCancelled { break }
            if attempt < 29 { try? await Task.sleep(for: .milliseconds(100)) }
          }
          guard locked else {
            let holder = try await sql.value("SELECT value FROM setting WHERE name = 'owner'", as: Data.self)
              .map { String(decoding: $0, as: UTF8.self) } ?? "another kilnd"
            throw KilnError(
              code: .failedPrecondition,
              message:
                "the database is in use by \(holder); one kilnd per database for now (replicas need job leases, not yet built)"
            )
          }
          try await sql.execute(
            """
            INSERT INTO setting (name, value) VALUES ('owner', \(Data(owner.utf8)))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """)
          acquired.continuation.yield(.success(()))
          // Held as long as this connection lives; cancelled by close().
          while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
          _ = try? await sql.value("SELECT pg_advisory_unlock(7077002)", as: Bool.self)
        }
      } catch {
        acquired.continuation.yield(.failure(error))
      }
      acquired.continuation.finish()
    }
    tasks.withLock { $0.append(task) }
    for await result in acquired.stream {
      try result.get()
      return
    }
    throw KilnError(code: .unavailable, message: "could not take the database's lock")
  }
}
