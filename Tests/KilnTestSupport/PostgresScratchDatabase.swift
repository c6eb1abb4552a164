public import Foundation
import KilnPostgresStore
public import Logging
import PostgresNIO

/// A database of its own for one test, on the server `KILN_TEST_POSTGRES_URL` names
/// (`dev/postgres.sh start` prints one; `dev/test.sh` starts it and sets the variable).
public struct PostgresScratchDatabase: Sendable {
  /// The server's URL (its database is where scratch databases are created from), or
  /// `nil` when the PostgreSQL entries are skipped.
  public static let serverURL: String? = {
    let url = ProcessInfo.processInfo.environment["KILN_TEST_POSTGRES_URL"] ?? ""
    return url.isEmpty ? nil : url
  }()

  /// The URL of the scratch database.
  public let url: String
  /// Its name.
  public let name: String

  /// A database with a unique name, not created yet (see ``createIfMissing()``).
  public init() {
    name = "kiln_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    var components = URLComponents(string: Self.serverURL ?? "postgres://kiln@127.0.0.1/postgres")
    components?.path = "/\(name)"
    // Tests run side by side, each with its own stores: 10 connections each (not the
    // default 20) keep the server's limit away. Fewer starve a kilnd: the commit listener
    // and the callback deliverer's lock hold one each for good.
    let items = components?.queryItems ?? []
    components?.queryItems = items + [URLQueryItem(name: "pool_size", value: "10")]
    url = components?.string ?? ""
  }

  /// Creates an empty database with a unique name.
  public static func create() async throws -> PostgresScratchDatabase {
    let database = PostgresScratchDatabase()
    try await database.createIfMissing()
    return database
  }

  /// Creates the database unless it exists.
  public func createIfMissing() async throws {
    guard Self.serverURL != nil else { throw CocoaError(.featureUnsupported) }
    try await Self.withAdminConnection { connection in
      let exists = try await connection.query(
        "SELECT 1::BIGINT FROM pg_database WHERE datname = \(name)", logger: Self.logger
      ).collect()
      if exists.isEmpty {
        _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
      }
    }
  }

  /// Drops the database, disconnecting whoever is still on it.
  public func drop() async {
    try? await Self.withAdminConnection { connection in
      _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Self.logger)
    }
  }

  /// Errors only: postgres-nio logs each refused connection attempt at info.
  public static let logger: Logger = {
    var logger = Logger(label: "kiln.test.postgres")
    logger.logLevel = .error
    return logger
  }()

  private static func withAdminConnection(_ body: (PostgresConnection) async throws -> Void) async throws {
    guard let serverURL else { return }
    let configuration = try PostgresURL.configuration(from: serverURL)
    let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await client.run() }
      defer { group.cancelAll() }
      try await client.withConnection { try await body($0) }
    }
  }
}
