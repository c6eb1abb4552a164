public import Foundation
import GRPCCore
public import KilnClient
import KilnProto
public import KilnServer
import Logging

/// A real `kilnd` (the same ``KilnApplication`` the executable builds) on 127.0.0.1 with
/// an ephemeral port and a fresh data directory, and a client connected over HTTP/2.
public struct ServerHarness: Sendable {
  /// The server's data directory; the same for every ``run`` of this harness.
  public let dataDirectory: URL

  /// A harness with a new, empty data directory.
  public init() {
    dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-e2e-\(UUID().uuidString)")
  }

  /// The configuration tests start from: fast progress, short grace, no signal handling.
  public func configuration(maxRunning: Int = 8, perProject: Int = 8, port: Int = 0) -> ServerConfiguration {
    ServerConfiguration(
      host: "127.0.0.1", port: port, dataDirectory: dataDirectory, maxRunningJobs: maxRunning,
      maxRunningJobsPerProject: perProject, stopGracePeriod: .milliseconds(300),
      progressInterval: .milliseconds(50), handlesSignals: false)
  }

  /// Starts the server, runs `body` with a client, then shuts the server down gracefully.
  public func run<R: Sendable>(
    maxRunning: Int = 8, perProject: Int = 8, port: Int = 0, configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (KilnClient, KilnApplication) async throws -> R
  ) async throws -> R {
    var logger = Logger(label: "kiln-e2e")
    logger.logLevel = .error
    var configuration = configuration(maxRunning: maxRunning, perProject: perProject, port: port)
    configure(&configuration)
    let app = try await KilnApplication(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.run() }
      do {
        let port = try await app.listeningPort
        let result = try await withKilnClient(host: "127.0.0.1", port: port) { client in
          try await body(client, app)
        }
        await app.shutdown()
        try await group.waitForAll()
        return result
      } catch {
        await app.shutdown()
        throw error
      }
    }
  }

  /// Starts the server, runs `body` with its port, then shuts it down gracefully.
  public func serve<R: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (Int, KilnApplication) async throws -> R
  ) async throws -> R {
    var logger = Logger(label: "kiln-e2e")
    logger.logLevel = .error
    var configuration = configuration()
    configure(&configuration)
    let app = try await KilnApplication(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.run() }
      do {
        let result = try await body(try await app.listeningPort, app)
        await app.shutdown()
        try await group.waitForAll()
        return result
      } catch {
        await app.shutdown()
        throw error
      }
    }
  }

  /// Removes the data directory.
  public func cleanUp() { try? FileManager.default.removeItem(at: dataDirectory) }
}
