import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnProto
import KilnCore
import KilnEngine
import KilnPostgresStore
import KilnServer
import Logging
import PostgresNIO
import SwiftProtobuf

/// Job changes per second through the API, on SQLite and on PostgreSQL in one run.
struct Mutations: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Job changes per second: callers alternately resume and pause PAUSED jobs (one transaction and event each), on SQLite and, with --postgres, on PostgreSQL in the same run.")

  @Option(help: "Concurrent callers, each on its own HTTP/2 connection with a job of its own.") var clients = 8
  @Option(help: "Changes per caller.") var changes = 500
  @Option(
    help:
      "A PostgreSQL server for the second run, e.g. the URL `dev/postgres.sh start` prints: a database of its own is created on it for the run, and dropped after.")
  var postgres: String?

  func run() async throws {
    var results: [(String, Double)] = []
    for (name, serverURL) in [("SQLite", nil)] + (postgres.map { [("PostgreSQL", $0)] } ?? []) {
      var database: BenchDatabase?
      if let serverURL { database = try await BenchDatabase.create(on: serverURL) }
      let rate: (perSecond: Double, p50: Double, p99: Double)
      do {
        rate = try await measure(storeURL: database?.url)
      } catch {
        await database?.drop()
        throw error
      }
      await database?.drop()
      print(
        String(
          format: "  %@: %.0f changes/s; latency p50 %.3f ms, p99 %.3f ms", name, rate.perSecond, rate.p50, rate.p99))
      results.append((name, rate.perSecond))
    }
    if results.count == 2 {
      print(String(format: "  PostgreSQL / SQLite: %.2f×", results[1].1 / results[0].1))
    }
  }

  func measure(storeURL: String?) async throws -> (perSecond: Double, p50: Double, p99: Double) {
    let (clients, changes) = (self.clients, self.changes)
    return try await withBenchServer(configure: {
      $0.storeURL = storeURL
      // Nothing starts: the changes are the operators', not the scheduler's.
      $0.maxRunningJobs = 0
    }) { port, app in
      let subject = "mutations-\(UUID().uuidString.prefix(8))"
      _ = try await app.engine.createSubject(project: "bench", name: subject, caller: .system)
      var ids: [String] = []
      for _ in 0..<clients {
        let job = try await app.engine.submit(.init(project: "bench", jobType: "INDEX_BUILD", subject: subject), caller: .system)
        _ = try await app.engine.perform(.pause, jobID: job.id, caller: .system)
        ids.append(job.id)
      }
      let latencies = Samples()
      let started = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for id in ids {
          group.addTask {
            try await withJobsClient(port: port, dataDirectory: app.configuration.dataDirectory) { jobs in
              var mine: [Double] = []
              for i in 0..<changes {
                let start = ContinuousClock.now
                if i.isMultiple(of: 2) {
                  _ = try await jobs.resumeJob(.with { $0.id = id })
                } else {
                  _ = try await jobs.pauseJob(.with { $0.id = id })
                }
                let elapsed = ContinuousClock.now - start
                mine.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
              }
              latencies.add(mine)
            }
          }
        }
        try await group.waitForAll()
      }
      let elapsed = ContinuousClock.now - started
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      let sorted = latencies.all.sorted()
      return (Double(sorted.count) / seconds, percentile(sorted, 0.5), percentile(sorted, 0.99))
    }
  }
}

/// A database of its own for one benchmark run, on a PostgreSQL server.
struct BenchDatabase {
  let server: String
  let name: String
  let url: String

  static func create(on server: String) async throws -> BenchDatabase {
    guard var components = URLComponents(string: server) else {
      throw ValidationError("--postgres \(server) is not a URL")
    }
    let name = "kiln_bench_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
    try await onServer(server) { connection, logger in
      _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
    }
    components.path = "/\(name)"
    return BenchDatabase(server: server, name: name, url: components.string ?? server)
  }

  func drop() async {
    let name = self.name
    try? await Self.onServer(server) { connection, logger in
      _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
    }
  }

  private static func onServer(_ server: String, _ body: (PostgresConnection, Logger) async throws -> Void) async throws {
    var logger = Logger(label: "kiln-bench.postgres")
    logger.logLevel = .error
    let client = PostgresClient(configuration: try PostgresURL.configuration(from: server), backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await client.run() }
      defer { group.cancelAll() }
      try await client.withConnection { try await body($0, logger) }
    }
  }
}
