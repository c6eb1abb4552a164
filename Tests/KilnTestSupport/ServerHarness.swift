public import Foundation
import GRPCCore
public import KilnClient
import KilnProto
public import KilnServer
import KilnEngine
import KilnAccess
import Logging
import KilnPostgresStore

/// A real `kilnd` (the same ``KilnApplication`` the executable builds) on 127.0.0.1 with
/// an ephemeral port and a fresh data directory, and a client connected over HTTP/2.
public struct ServerHarness: Sendable {
  /// The server's data directory; the same for every ``run`` of this harness.
  public let dataDirectory: URL
  /// The PostgreSQL database the server keeps its state in, or `nil` for SQLite in
  /// ``dataDirectory``; the same for every ``run``.
  public let postgres: PostgresScratchDatabase?

  /// Whether harnesses use PostgreSQL by default: `KILN_TEST_SERVER_STORE=postgres`
  /// runs the server suites on it (with `KILN_TEST_POSTGRES_URL` naming the server).
  public static let defaultsToPostgres = ProcessInfo.processInfo.environment["KILN_TEST_SERVER_STORE"] == "postgres"

  /// A harness with a new, empty data directory, and a new PostgreSQL database when
  /// `postgres` (by default: ``defaultsToPostgres``).
  public init(postgres: Bool = ServerHarness.defaultsToPostgres) {
    dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-e2e-\(UUID().uuidString)")
    self.postgres = postgres ? PostgresScratchDatabase() : nil
  }

  /// A harness with a new data directory on `database`: another replica of a server
  /// whose harness uses it.
  public init(sharing database: PostgresScratchDatabase) {
    dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-e2e-\(UUID().uuidString)")
    postgres = database
  }

  /// The configuration tests start from: fast progress, short grace, no signal handling.
  public func configuration(maxRunning: Int = 8, perProject: Int = 8, port: Int = 0) -> ServerConfiguration {
    var configuration = ServerConfiguration(
      host: "127.0.0.1", port: port, dataDirectory: dataDirectory, maxRunningJobs: maxRunning,
      maxRunningJobsPerProject: perProject, stopGracePeriod: .milliseconds(300),
      progressInterval: .milliseconds(50), handlesSignals: false)
    configuration.storeURL = postgres?.url
    return configuration
  }

  /// Creates the PostgreSQL database on first use.
  public func prepareStore() async throws {
    try await postgres?.createIfMissing()
  }

  /// The projects every harness server has, created by its first ADMIN.
  public static let projects = ["p", "p1", "p2", "a", "b", "alpha", "beta", "sales", "ops", "bench"]

  /// The first ADMIN's token, once the server has started.
  public var adminToken: String {
    get throws { try KilnClientConfiguration.readToken(file: dataDirectory.appendingPathComponent("admin.token").path) }
  }

  /// A client configuration for `port` with the first ADMIN's token.
  public func adminConfiguration(port: Int) throws -> KilnClientConfiguration {
    KilnClientConfiguration(
      host: "127.0.0.1", port: port, token: try adminToken, timeout: .seconds(30) * testTimeFactor)
  }

  /// Opens the data directory as a first start does, without serving, and returns the
  /// first ADMIN's token: for tests that configure a client before the server runs.
  public func bootstrap() async throws -> String {
    try await prepareStore()
    _ = try await KilnApplication(configuration: configuration(), logger: Self.logger)
    return try adminToken
  }

  /// Errors only: the tests say what went wrong.
  static var logger: Logger {
    var logger = Logger(label: "kiln-e2e")
    logger.logLevel = .error
    return logger
  }

  /// Creates ``projects`` (those missing), in process (the server may speak TLS).
  public static func createProjects(in app: KilnApplication) async throws {
    let existing = Set(try await app.access.projects(caller: .system).map(\.name))
    for name in projects where !existing.contains(name) {
      _ = try await app.access.createProject(name: name, description: "", caller: .system)
    }
  }

  /// Starts the server, runs `body` with a client (the first ADMIN), then shuts the
  /// server down gracefully.
  public func run<R: Sendable>(
    maxRunning: Int = 8, perProject: Int = 8, port: Int = 0, configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (KilnClient, KilnApplication) async throws -> R
  ) async throws -> R {
    try await serve(configure: { configuration in
      (configuration.maxRunningJobs, configuration.maxRunningJobsPerProject, configuration.port) = (maxRunning, perProject, port)
      configure(&configuration)
    }) { port, app in
      try await withKilnClient(try adminConfiguration(port: port)) { client in try await body(client, app) }
    }
  }

  /// Starts the server (with ``projects``), runs `body` with its port, then shuts it
  /// down gracefully. Clients need ``adminToken`` or a token made with it.
  public func serve<R: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (Int, KilnApplication) async throws -> R
  ) async throws -> R {
    var configuration = configuration()
    configure(&configuration)
    try await prepareStore()
    let app = try await KilnApplication(configuration: configuration, logger: Self.logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.run() }
      do {
        let port = try await app.listeningPort
        try await Self.createProjects(in: app)
        let result = try await body(port, app)
        await app.shutdown()
        try await group.waitForAll()
        return result
      } catch {
        await app.shutdown()
        throw error
      }
    }
  }

  /// A port on 127.0.0.1 that is free now, below the kernel's ephemeral range
  /// (32768 and up), so that no outgoing connection of another test can take it
  /// while a test restarts its server on it.
  public static func stablePort() throws -> Int {
    for _ in 0..<200 {
      let port = Int.random(in: 20_000..<32_000)
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(fd) }
      if bindLoopback(fd, port: port) { return port }
    }
    throw CocoaError(.fileWriteUnknown)
  }

  /// Binds the socket `fd` to 127.0.0.1:`port`; returns whether it worked.
  public static func bindLoopback(_ fd: Int32, port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
  }

  /// Removes the data directory.
  public func cleanUp() {
    try? FileManager.default.removeItem(at: dataDirectory)
    if let postgres { Task { await postgres.drop() } }
  }
}

/// How much slower than usual the tests may run: `KILN_TEST_TIME_FACTOR` (default 1).
/// Sanitizers slow everything several times over (`KILN_TEST_TIME_FACTOR=5 swift test
/// --sanitize=thread`); waits and client deadlines in the tests scale by it.
public let testTimeFactor: Double = {
  guard let value = ProcessInfo.processInfo.environment["KILN_TEST_TIME_FACTOR"], let factor = Double(value), factor >= 1
  else { return 1 }
  return factor
}()

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds` (times
/// ``testTimeFactor``). Returns whether it held: tests assert on that, never on the time taken.
@discardableResult
public func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = Date().addingTimeInterval(seconds * testTimeFactor)
  while Date() < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}
