import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnEngine
import KilnProto
import KilnServer
import Logging
import SwiftProtobuf
import Synchronization

/// `kiln-bench`: benchmarks that print figures. Run them in release:
/// `swift run -c release kiln-bench watch-latency` and `... watch-memory`.
@main
struct KilnBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiln-bench", abstract: "Benchmarks of a real kilnd over HTTP/2 on 127.0.0.1.",
    subcommands: [WatchLatency.self, WatchMemory.self])
}

/// Starts a server in this process on an ephemeral port with a fresh data directory.
func withBenchServer<R: Sendable>(
  configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (Int, KilnApplication) async throws -> R
) async throws -> R {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: directory) }
  var logger = Logger(label: "kiln-bench")
  logger.logLevel = .error
  var configuration = ServerConfiguration(
    port: 0, dataDirectory: directory, maxRunningJobs: 1, handlesSignals: false)
  configure(&configuration)
  let app = try await KilnApplication(configuration: configuration, logger: logger)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await app.run() }
    let result = try await body(try await app.listeningPort, app)
    await app.shutdown()
    try await group.waitForAll()
    return result
  }
}

func withJobsClient<R: Sendable>(
  port: Int, window: Int? = nil, _ body: (Kiln_V1_JobService.Client<HTTP2ClientTransport.Posix>) async throws -> R
) async throws -> R {
  var config = HTTP2ClientTransport.Posix.Config.defaults
  if let window { config.http2.targetWindowSize = window }
  return try await withGRPCClient(
    transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config)
  ) { client in
    try await body(Kiln_V1_JobService.Client(wrapping: client))
  }
}

/// The resident set size of this process, from /proc.
func residentMegabytes() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
    let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
  else { return -1 }
  return kb / 1024
}

/// A counter shared between tasks.
final class Counter: Sendable {
  private let value = Atomic<Int>(0)
  func increment() { value.add(1, ordering: .relaxed) }
  var count: Int { value.load(ordering: .relaxed) }
}

/// When each watcher received each revision.
final class Arrivals: Sendable {
  private let times = Mutex<[Int64: [ContinuousClock.Instant]]>([:])
  func record(_ revision: Int64, at time: ContinuousClock.Instant) { times.withLock { $0[revision, default: []].append(time) } }
  var all: [Int64: [ContinuousClock.Instant]] { times.withLock { $0 } }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
  guard !sorted.isEmpty else { return .nan }
  return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

struct WatchLatency: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time from sending a status change (pause/resume) to its arrival at every watcher.")

  @Option(help: "Watchers, each on its own stream.") var watchers = 50
  @Option(help: "Status changes to time.") var changes = 200

  func run() async throws {
    try await withBenchServer { port, _ in
      try await withJobsClient(port: port) { jobs in
        let job = try await jobs.submitJob(.with {
          $0.project = "bench"
          $0.jobType = "INDEX_BUILD"
          $0.subject = "latency"
          $0.params = ["sleep_ms": "600000"]
        }).job
        // Pause/resume flips PENDING/PAUSED (the only slot is held by another job).
        _ = try await jobs.submitJob(.with {
          $0.project = "bench"
          $0.jobType = "INDEX_BUILD"
          $0.subject = "holder"
          $0.params = ["sleep_ms": "600000"]
        })
        let arrivals = Arrivals()
        let ready = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
          for _ in 0..<watchers {
            group.addTask {
              try await jobs.watchJob(.with { $0.id = job.id }) { response in
                for try await message in response.messages {
                  if message.kind == .snapshotEnd { ready.increment() }
                  if message.kind == .updated {
                    arrivals.record(message.revision, at: .now)
                  }
                }
              }
            }
          }
          while ready.count < watchers { try await Task.sleep(for: .milliseconds(10)) }
          var sent: [(Int64, ContinuousClock.Instant)] = []
          for i in 0..<changes {
            let requested = ContinuousClock.now
            let response =
              i % 2 == 0
              ? try await jobs.pauseJob(.with { $0.id = job.id }).job
              : try await jobs.resumeJob(.with { $0.id = job.id }).job
            sent.append((response.revision, requested))
            try await Task.sleep(for: .milliseconds(5))
          }
          try await Task.sleep(for: .seconds(1))
          group.cancelAll()
          let received = arrivals.all
          var latencies: [Double] = []
          var missing = 0
          for (revision, requested) in sent {
            let times = received[revision] ?? []
            missing += watchers - times.count
            latencies += times.map {
              let elapsed = $0 - requested
              return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            }
          }
          latencies.sort()
          print("watch-latency: \(watchers) watchers × \(changes) status changes")
          print(String(format: "  delivered %d, missing %d", latencies.count, missing))
          print(String(format: "  from the request being sent: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                       percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.last ?? .nan))
        }
      }
    }
  }
}

struct WatchMemory: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Server memory with many watchers that never read, while events flow.")

  @Option(help: "Watchers that never read.") var stalled = 200
  @Option(help: "Jobs submitted (each makes several events) per round.") var jobs = 300
  @Option(help: "Rounds of submissions; memory is printed after each.") var rounds = 6

  func run() async throws {
    let window = 1000
    try await withBenchServer(configure: { $0.watchWindow = window }) { port, app in
      let baseline = residentMegabytes()
      print("watch-memory: \(stalled) stalled watchers, \(rounds) rounds of \(jobs) jobs with 4 KiB params, window \(window) events")
      print(String(format: "  RSS at start: %.1f MB", baseline))
      try await withJobsClient(port: port, window: 65535) { stalledClient in
        try await withJobsClient(port: port) { client in
          try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<stalled {
              group.addTask {
                try? await stalledClient.watchJobs(.init()) { response in
                  var iterator = response.messages.makeAsyncIterator()
                  _ = try await iterator.next()
                  try await Task.sleep(for: .seconds(3600))
                }
              }
            }
            try await Task.sleep(for: .seconds(1))
            print(String(format: "  RSS with watchers open: %.1f MB, subscriptions: %d", residentMegabytes(), app.hub.subscriberCount))
            let padding = String(repeating: "x", count: 4096)
            for round in 1...rounds {
              for i in 0..<jobs {
                _ = try await client.submitJob(.with {
                  $0.project = "bench"
                  $0.jobType = "INDEX_BUILD"
                  $0.subject = "m\(round)-\(i)"
                  $0.params = ["sleep_ms": "600000", "padding": padding]
                })
              }
              try await Task.sleep(for: .milliseconds(500))
              print(String(format: "  RSS after round %d (%d events): %.1f MB, subscriptions still open: %d",
                           round, round * jobs, residentMegabytes(), app.hub.subscriberCount))
            }
            group.cancelAll()
          }
        }
      }
    }
  }
}
