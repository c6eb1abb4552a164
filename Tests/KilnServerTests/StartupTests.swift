import Foundation
import GRPCCore
import KilnClient
import KilnProto
import KilnServer
import KilnTestSupport
import Logging
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A server that cannot start says why in one line; one that stops, stops.
@Suite("Startup and shutdown", .timeLimit(.minutes(2)))
struct StartupTests {
  static var logger: Logger {
    var logger = Logger(label: "startup-test")
    logger.logLevel = .critical
    return logger
  }

  func expectStartupError(mentioning parts: [String], _ body: () async throws -> Void) async {
    do {
      try await body()
      Issue.record("the server started")
    } catch let error as StartupError {
      for part in parts { #expect(error.message.contains(part), "\(error.message)") }
    } catch {
      Issue.record("expected a StartupError, got \(error)")
    }
  }

  @Test("a second server on the same data directory is refused, naming the first one's pid; after it stops, one starts")
  func dataDirectoryLock() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { _, _ in
      await expectStartupError(mentioning: ["another kilnd (pid \(getpid()))", harness.dataDirectory.path]) {
        try await harness.prepareStore()
        _ = try await KilnApplication(configuration: harness.configuration(), logger: Self.logger)
      }
    }
    // The first one stopped: its lock is gone.
    try await harness.serve { _, _ in }
  }

  @Test("a port in use is refused before anything starts, naming the process that holds it")
  func portInUse() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let port = try ServerHarness.stablePort()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    try #require(ServerHarness.bindLoopback(fd, port: port) && listen(fd, 1) == 0)
    await expectStartupError(mentioning: ["port \(port) on 127.0.0.1 is already in use", "by pid \(getpid())"]) {
      try await harness.prepareStore()
      _ = try await KilnApplication(configuration: harness.configuration(port: port), logger: Self.logger)
    }
  }

  @Test("a data directory that cannot be created is named with the cause")
  func unusableDataDirectory() async throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-not-a-dir-\(UUID().uuidString)")
    try Data("x".utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    var configuration = ServerHarness().configuration()
    configuration.dataDirectory = file.appendingPathComponent("data")
    await expectStartupError(mentioning: ["cannot create the data directory", file.path]) {
      _ = try await KilnApplication(configuration: configuration, logger: Self.logger)
    }
  }

  @Test("kilnd exits non-zero with one line naming the cause when its port is taken")
  func kilndExitStatus() async throws {
    let kilnd = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kilnd")
    try #require(FileManager.default.isExecutableFile(atPath: kilnd.path), "swift build builds kilnd beside the tests")
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let other = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-other-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: other) }
      let result = try await ChildProcessRunner.run(kilnd, ["--port", String(port), "--data-dir", other.path])
      let output = result.stderr
      #expect(result.status == 69)
      // The holder's pid is named where /proc tells it (checked in portInUse).
      #expect(output.contains("kilnd cannot start: port \(port) on 127.0.0.1 is already in use"), "\(output)")
    }
  }

  @Test("two health watchers both see NOT_SERVING and graceful shutdown completes")
  func twoHealthWatchers() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.prepareStore()
    let app = try await KilnApplication(configuration: harness.configuration(), logger: Self.logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.run() }
      let port = try await app.listeningPort
      try await withKilnClient(KilnClientConfiguration(port: port)) { kiln in
        let seen = LockedBox<[[Grpc_Health_V1_HealthCheckResponse.ServingStatus]]>([])
        let started = LockedBox(0)
        try await withThrowingTaskGroup(of: Void.self) { watchers in
          for _ in 0..<2 {
            watchers.addTask {
              let statuses = try await kiln.health.watch(.init()) { response in
                var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                for try await message in response.messages {
                  // A watch opened while the server still starts sees NOT_SERVING first.
                  if message.status == .serving, !statuses.contains(.serving) { started.mutate { $0 += 1 } }
                  statuses.append(message.status)
                }
                return statuses
              }
              seen.mutate { $0.append(statuses) }
            }
          }
          #expect(await eventually { started.value == 2 })
          await app.shutdown()
          try await watchers.waitForAll()
        }
        #expect(seen.value.count == 2)
        for statuses in seen.value {
          #expect(statuses.drop { $0 == .notServing } == [.serving, .notServing], "\(statuses)")
        }
      }
      try await group.waitForAll()
    }
  }
}
