import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnAccess
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
    subcommands: [Unary.self, CeilingServer.self, WatchLatency.self, WatchMemory.self, Calls.self, Mutations.self])

  /// Takes the same global executor as kilnd (the ceiling server of `unary` runs on
  /// the same stack as the kilnd it is compared with).
  static func main() async {
    EventLoopExecutor.installIfAsked()
    await main(nil)
  }
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
    // A PostgreSQL database used before has them already.
    _ = try? await app.access.createProject(name: "bench", description: "kiln-bench", caller: .system)
    for subject in ["latency", "holder"] { _ = try? await app.engine.createSubject(project: "bench", name: subject, caller: .system) }
    let result = try await body(try await app.listeningPort, app)
    await app.shutdown()
    try await group.waitForAll()
    return result
  }
}

/// The raw JobService client of kilnd at `port`, as the ADMIN whose token is in the
/// data directory.
func withJobsClient<R: Sendable>(
  port: Int, dataDirectory: URL, window: Int? = nil,
  _ body: (Kiln_V1_JobService.Client<HTTP2ClientTransport.Posix>) async throws -> R
) async throws -> R {
  var config = HTTP2ClientTransport.Posix.Config.defaults
  if let window { config.http2.targetWindowSize = window }
  let token = try KilnClientConfiguration.readToken(file: dataDirectory.appendingPathComponent("admin.token").path)
  return try await withGRPCClient(
    transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config),
    interceptors: [BearerTokenInterceptor(token: token)]
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

/// Measurements gathered by concurrent tasks.
final class Samples: Sendable {
  private let values = Mutex<[Double]>([])
  func add(_ more: [Double]) { values.withLock { $0 += more } }
  var all: [Double] { values.withLock { $0 } }
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

struct Calls: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Unary calls per second and their latency (GetJob as an OPERATOR: token, roles, read, answer).")

  @Option(help: "Concurrent callers, each on its own HTTP/2 connection.") var clients = 8
  @Option(help: "Calls per caller.") var calls = 2000
  @Option(help: "get-job (a read of the store) or job-types (no store: the RPC path alone).") var method = "get-job"
  @ArgumentParser.Flag(name: .customLong("no-auth"), help: "Serve with --insecure-no-auth and send no token (the baseline).")
  var noAuth = false

  func run() async throws {
    try await withBenchServer(configure: { $0.requiresAuthentication = !noAuth }) { port, app in
      var secret: String?
      if !noAuth {
        _ = try await app.access.createUser(name: "bench-operator", isAdmin: false, caller: .system)
        try await app.access.grantRole(.operator, user: "bench-operator", project: "bench", caller: .system)
        secret = try await app.access.createToken(user: "bench-operator", description: "", ttl: nil, caller: .system).secret
      }
      let token = secret
      let (clients, calls, typesOnly) = (self.clients, self.calls, self.method == "job-types")
      _ = try await app.engine.createSubject(project: "bench", name: "calls", caller: .system)
      let job = try await app.engine.submit(
        .init(project: "bench", jobType: "INDEX_BUILD", subject: "calls", params: ["sleep_ms": "600000"]), caller: .system)
      let latencies = Samples()
      let started = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<clients {
          group.addTask {
            try await withGRPCClient(
              transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
              interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
            ) { client in
              let jobs = Kiln_V1_JobService.Client(wrapping: client)
              var mine: [Double] = []
              mine.reserveCapacity(calls)
              for _ in 0..<calls {
                let start = ContinuousClock.now
                if typesOnly {
                  _ = try await jobs.listJobTypes(.init())
                } else {
                  _ = try await jobs.getJob(.with { $0.id = job.id })
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
      print("calls: \(method), \(clients) callers × \(calls) calls, \(noAuth ? "no authentication" : "bearer token of an OPERATOR")")
      print(String(format: "  %.0f calls/s; latency p50 %.3f ms, p99 %.3f ms, max %.3f ms",
                   Double(sorted.count) / seconds, percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last ?? .nan))
    }
  }
}

struct WatchLatency: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time from sending a status change (pause/resume) to its arrival at every watcher.")

  @Option(help: "Watchers, each on its own stream.") var watchers = 50
  @Option(help: "Status changes to time.") var changes = 200

  func run() async throws {
    try await withBenchServer { port, app in
      try await withJobsClient(port: port, dataDirectory: app.configuration.dataDirectory) { jobs in
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
    abstract: "kilnd's memory (a separate process) with many watchers that never read, while events flow.")

  @Option(help: "Watchers that never read.") var stalled = 200
  @Option(help: "Jobs submitted (one event each) per round.") var jobs = 300
  @Option(help: "Rounds of submissions; memory is printed after each.") var rounds = 6
  @Option(help: "kilnd's --watch-window.") var window = 1000

  func run() async throws {
    let port = try freePort()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let server = try startKilnd(arguments: [
      "--port", String(port), "--data-dir", directory.path, "--max-running", "1", "--watch-window", String(window),
      "--log-level", "error",
    ])
    defer { server.terminate() }
    let pid = server.processIdentifier
    try await waitUntilServing(port: port)
    print("watch-memory: kilnd pid \(pid), \(stalled) watchers that never read, \(rounds) rounds of \(jobs) jobs with 4 KiB params, window \(window) events")
    print(String(format: "  kilnd RSS at start: %.1f MB", residentMegabytes(pid: pid)))
    let released = Flag()
    let outcomes = Outcomes()
    try await withKilnClient(
      KilnClientConfiguration(
        port: port,
        token: try KilnClientConfiguration.readToken(file: directory.appendingPathComponent("admin.token").path))
    ) { kiln in
      _ = try await kiln.createProject("bench")
      _ = try await kiln.createSubject("memory", project: "bench")
    }
    try await withJobsClient(port: port, dataDirectory: directory, window: 65535) { stalledClient in
      try await withJobsClient(port: port, dataDirectory: directory) { client in
        try await withThrowingTaskGroup(of: Void.self) { group in
          for _ in 0..<stalled {
            group.addTask {
              do {
                try await stalledClient.watchJobs(.init()) { response in
                  var iterator = response.messages.makeAsyncIterator()
                  _ = try await iterator.next()
                  while !released.isSet { try await Task.sleep(for: .milliseconds(50)) }
                  while try await iterator.next() != nil {}
                }
                outcomes.record("ended without error")
              } catch let error as RPCError {
                outcomes.record("\(error.code)")
              } catch {
                outcomes.record("\(error)")
              }
            }
          }
          try await Task.sleep(for: .seconds(1))
          print(String(format: "  kilnd RSS with the watchers open: %.1f MB", residentMegabytes(pid: pid)))
          let padding = String(repeating: "x", count: 4096)
          for round in 1...rounds {
            for i in 0..<jobs {
              _ = try await client.submitJob(.with {
                $0.project = "bench"
                $0.jobType = "INDEX_BUILD"
                $0.subject = "memory"
                $0.params = ["sleep_ms": "600000", "padding": padding]
              })
            }
            try await Task.sleep(for: .milliseconds(500))
            print(String(format: "  kilnd RSS after round %d (%d events): %.1f MB", round, round * jobs, residentMegabytes(pid: pid)))
          }
          released.set()
          try await group.waitForAll()
          print("  how the stalled watches ended, once read: \(outcomes.summary)")
        }
      }
    }
  }
}

/// A flag set once, read by many tasks.
final class Flag: Sendable {
  private let value = Atomic<Bool>(false)
  func set() { value.store(true, ordering: .relaxed) }
  var isSet: Bool { value.load(ordering: .relaxed) }
}

/// Counts of outcomes by name.
final class Outcomes: Sendable {
  private let counts = Mutex<[String: Int]>([:])
  func record(_ outcome: String) { counts.withLock { $0[outcome, default: 0] += 1 } }
  var summary: String { counts.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ") } }
}

/// The resident set size of another process, from /proc.
func residentMegabytes(pid: Int32) -> Double {
  guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
    let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
  else { return -1 }
  return kb / 1024
}

/// A port on 127.0.0.1 that was free a moment ago.
func freePort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
      bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
    }
  }
  guard bound else { throw CocoaError(.fileNoSuchFile) }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// Starts the `kilnd` built next to this benchmark.
func startKilnd(arguments: [String]) throws -> Process {
  let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  let process = Process()
  process.executableURL = here.appendingPathComponent("kilnd")
  process.arguments = arguments
  try process.run()
  return process
}

/// Waits until something accepts connections on the port.
func waitUntilServing(port: Int) async throws {
  for _ in 0..<200 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    close(fd)
    if connected { return }
    try await Task.sleep(for: .milliseconds(50))
  }
  throw CocoaError(.fileReadUnknown)
}
