import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import KilnClient
import KilnProto
import KilnServer
import NIOPosix
import SwiftProtobuf

/// `kiln-bench unary`: kilnd's unary reads beside the ceiling of its own stack, an
/// empty handler served by the same grpc-swift server and transport, both in
/// separate processes under external load from `h2load`, alternated in one run.
struct Unary: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "GetJob and ListJobs on kilnd beside an empty handler of the same grpc-swift stack (h2load).",
    discussion: """
      Starts kilnd (built next to this benchmark) with a fresh data directory and a second \
      process serving the same methods with an empty handler that answers kilnd's own reply \
      bytes (same transport, same protobuf code, no Kiln code). Each round runs h2load against \
      both: throughput with --connections × --streams in flight, then latency (p50/p99/p99.9) \
      with one call in flight. Prints a table with the ratio kilnd/ceiling and writes JSON.
      """)

  @Option(help: "Calls per throughput run.") var calls = 100_000
  @Option(help: "HTTP/2 connections of the throughput runs.") var connections = 4
  @Option(help: "Calls in flight on each connection of the throughput runs.") var streams = 32
  @Option(help: "Calls of the one-in-flight latency runs.") var sequentialCalls = 10_000
  @Option(help: "Rounds; the servers alternate within each.") var rounds = 2
  @Option(help: "Methods: GetJob, ListJobs (one page of 50 of 60 jobs).") var methods = "GetJob,ListJobs"
  @Option(
    help: "The global executor of kilnd and the ceiling: swift (Swift's own, kilnd's default), nio (the event loops), or both (each pair, to compare).")
  var executors = "swift"
  @Option(
    help: "grpc-swift's flush coalescing (a 100 µs delay that gathers writes) in kilnd and the ceiling: on (kilnd's default), off, or both.")
  var flushCoalescing = "on"
  @Option(help: "Another kilnd binary to measure beside this one (e.g. built from an earlier commit).")
  var baselineKilnd: String?
  @Option(help: "Where to write the figures as JSON.") var json = "kiln-bench-unary.json"

  /// One server under test.
  struct Target {
    var name: String
    var port: Int
    var process: Process
    /// The ceiling this target is compared with (itself for a ceiling).
    var ceiling: String
    /// The token it is called with, and its requests and replies (a ceiling has the
    /// first kilnd's: it answers that kilnd's replies).
    var token: String
    var fixtures: UnaryFixtures
  }

  func run() async throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/h2load") else {
      throw ValidationError("h2load is missing: apt-get install nghttp2-client")
    }
    let executorChoices = executors == "both" ? ["nio", "swift"] : [executors]
    guard executorChoices.allSatisfy({ ["nio", "swift"].contains($0) }) else {
      throw ValidationError("--executors: nio, swift or both")
    }
    let coalescingChoices = flushCoalescing == "both" ? [true, false] : [flushCoalescing != "off"]
    let modes = executorChoices.flatMap { executor in coalescingChoices.map { UnaryMode(executor: executor, coalescesFlushes: $0) } }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var targets: [Target] = []
    defer { targets.forEach { $0.process.terminate() } }
    var kilnds: [(String, String, UnaryMode)] = modes.map { ("kilnd/\($0.name)", here.appendingPathComponent("kilnd").path, $0) }
    // An earlier kilnd may not read the variables: it is compared with kilnd's defaults.
    if let baselineKilnd { kilnds.append(("baseline", baselineKilnd, UnaryMode(executor: "swift", coalescesFlushes: true))) }
    for (name, binary, mode) in kilnds {
      let data = directory.appendingPathComponent(name.replacingOccurrences(of: "/", with: "-"))
      let port = try freePort()
      let process = try startProcess(
        binary, ["--port", String(port), "--data-dir", data.path, "--max-running", "1", "--log-level", "error"],
        environment: mode.environment)
      let (token, fixtures): (String, UnaryFixtures)
      do {
        try await waitUntilServing(port: port)
        token = try KilnClientConfiguration.readToken(file: data.appendingPathComponent("admin.token").path)
        fixtures = try await UnaryFixtures.make(port: port, token: token)
      } catch {
        process.terminate()
        throw error
      }
      targets.append(
        Target(name: name, port: port, process: process, ceiling: "ceiling/\(mode.name)", token: token, fixtures: fixtures))
    }
    guard let first = targets.first else { return }
    let fixtures = first.fixtures
    // The ceiling answers each method with the reply kilnd gave, decoded once.
    let canned = directory.appendingPathComponent("canned")
    try FileManager.default.createDirectory(at: canned, withIntermediateDirectories: true)
    try fixtures.getJobReply.write(to: canned.appendingPathComponent("GetJob"))
    try fixtures.listJobsReply.write(to: canned.appendingPathComponent("ListJobs"))
    for mode in modes {
      let port = try freePort()
      let process = try startProcess(
        CommandLine.arguments[0], ["ceiling-server", "--port", String(port), "--replies", canned.path],
        environment: mode.environment)
      targets.append(
        Target(
          name: "ceiling/\(mode.name)", port: port, process: process, ceiling: "ceiling/\(mode.name)",
          token: first.token, fixtures: fixtures))
      try await waitUntilServing(port: port)
    }
    // The baseline is compared with the ceiling on kilnd's defaults, or the first one run.
    for index in targets.indices where !targets.contains(where: { $0.name == targets[index].ceiling }) {
      targets[index].ceiling = "ceiling/\(modes[0].name)"
    }

    let wanted = methods.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    var results: [UnaryResult] = []
    print("unary: h2load, \(connections) connections × \(streams) in flight × \(calls) calls, then 1 in flight × \(sequentialCalls); \(rounds) rounds; an ADMIN token on every call")
    for round in 1...rounds {
      for method in wanted {
        for (index, target) in targets.enumerated() {
          guard let unaryCase = target.fixtures.cases.first(where: { $0.method == method }) else {
            throw ValidationError("unknown method \(method)")
          }
          let body = directory.appendingPathComponent("\(method)-\(index).body")
          try grpcFrame(unaryCase.request).write(to: body)
          let throughput = try H2Load.run(
            port: target.port, method: unaryCase.path, body: body.path, token: target.token, calls: calls,
            connections: connections, streams: streams, expectedReplyBytes: unaryCase.replyBytes)
          let latency = try H2Load.run(
            port: target.port, method: unaryCase.path, body: body.path, token: target.token, calls: sequentialCalls,
            connections: 1, streams: 1, expectedReplyBytes: unaryCase.replyBytes,
            logFile: directory.appendingPathComponent("latency.log").path)
          let result = UnaryResult(
            round: round, method: method, target: target.name, ceiling: target.ceiling,
            requestsPerSecond: throughput.requestsPerSecond,
            complete: throughput.completeReplies + latency.completeReplies, calls: calls + sequentialCalls,
            p50: latency.percentile(0.5), p99: latency.percentile(0.99), p999: latency.percentile(0.999),
            sequentialPerSecond: latency.requestsPerSecond, serverRSSMegabytes: residentMegabytes(pid: target.process.processIdentifier))
          results.append(result)
          print(result.line)
        }
      }
    }
    print("")
    print("best of \(rounds) rounds; ratio = this server ÷ the ceiling on the same executor (1 in flight: calls/s ÷ calls/s)")
    print("method    server         req/s   ratio | 1 in flight p50    p99  p99.9 µs  ratio")
    for method in wanted {
      let best = { (name: String) in results.filter { $0.method == method && $0.target == name } }
      for target in targets {
        let runs = best(target.name)
        let ceilings = best(target.ceiling)
        guard let fast = runs.map(\.requestsPerSecond).max(), let fastCeiling = ceilings.map(\.requestsPerSecond).max(),
          let sequential = runs.max(by: { $0.sequentialPerSecond < $1.sequentialPerSecond }),
          let sequentialCeiling = ceilings.map(\.sequentialPerSecond).max()
        else { continue }
        print(
          padded(method, 9) + " " + padded(target.name, 13)
            + String(
              format: " %7.0f  %5.2f | %15.0f %6.0f %6.0f    %5.2f", fast, fast / fastCeiling,
              sequential.p50, sequential.p99, sequential.p999, sequential.sequentialPerSecond / sequentialCeiling))
      }
    }
    try JSONEncoder.pretty.encode(results).write(to: URL(fileURLWithPath: json))
    print("figures written to \(json)")
  }
}

/// The text followed by spaces up to `width` characters.
func padded(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// The settings of a kilnd and its ceiling, chosen through kilnd's environment.
struct UnaryMode {
  var executor: String
  var coalescesFlushes: Bool

  var name: String { coalescesFlushes ? executor : executor + "-nc" }
  var environment: [String: String] {
    [
      EventLoopExecutor.environmentVariable: executor,
      KilnApplication.flushCoalescingVariable: coalescesFlushes ? "on" : "off",
    ]
  }
}

/// Starts a program with extra environment variables.
func startProcess(_ path: String, _ arguments: [String], environment: [String: String]) throws -> Process {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  try process.run()
  return process
}

/// One h2load run against one server.
struct UnaryResult: Codable {
  var round: Int
  var method: String
  var target: String
  var ceiling: String
  var requestsPerSecond: Double
  var complete: Int
  var calls: Int
  var p50: Double
  var p99: Double
  var p999: Double
  var sequentialPerSecond: Double
  var serverRSSMegabytes: Double

  var line: String {
    "  round \(round) " + padded(method, 9) + padded(target, 14)
      + String(
        format: "%8.0f req/s | 1 in flight %6.0f calls/s, p50 %5.0f µs, p99 %5.0f µs, p99.9 %5.0f µs | complete replies %d/%d | RSS %.0f MB",
        requestsPerSecond, sequentialPerSecond, p50, p99, p999, complete, calls, serverRSSMegabytes)
  }
}

/// The requests and replies the benchmark sends and checks.
struct UnaryFixtures {
  struct Case {
    var method: String
    var path: String
    var request: Data
    var replyBytes: Int
  }
  var cases: [Case]
  var getJobReply: Data
  var listJobsReply: Data

  /// Creates a project with 60 jobs (the benchmark's page holds 50) and pauses the
  /// second (the first runs: kilnd is started with one slot), then reads the replies.
  static func make(port: Int, token: String) async throws -> UnaryFixtures {
    try await withBenchClient(port: port, token: token) { client in
      let jobs = Kiln_V1_JobService.Client(wrapping: client)
      let projects = Kiln_V1_ProjectService.Client(wrapping: client)
      let subjects = Kiln_V1_SubjectService.Client(wrapping: client)
      _ = try await projects.createProject(.with { $0.name = "bench" })
      for i in 0..<60 {
        _ = try await subjects.createSubject(.with {
          $0.project = "bench"
          $0.name = "table-\(i)"
        })
        _ = try await jobs.submitJob(.with {
          $0.project = "bench"
          $0.jobType = "INDEX_BUILD"
          $0.subject = "table-\(i)"
          $0.params = ["sleep_ms": "600000"]
        })
      }
      let second = try await jobs.listJobs(.with { $0.pageSize = 2 }).jobs[1].id
      _ = try await jobs.pauseJob(.with { $0.id = second })
    }
    return try await read(port: port, token: token)
  }

  /// The benchmark's requests and kilnd's replies to them, on a kilnd `make` set up.
  static func read(port: Int, token: String) async throws -> UnaryFixtures {
    try await withBenchClient(port: port, token: token) { client in
      let jobs = Kiln_V1_JobService.Client(wrapping: client)
      let paused = try await jobs.listJobs(.with { $0.filter.statuses = [.paused] }).jobs[0].id
      let getJob = Kiln_V1_GetJobRequest.with { $0.id = paused }
      let listJobs = Kiln_V1_ListJobsRequest.with {
        $0.pageSize = 50
        $0.filter.projects = ["bench"]
      }
      let getJobReply = try await jobs.getJob(getJob).serializedData()
      let listJobsReply = try await jobs.listJobs(listJobs).serializedData()
      return UnaryFixtures(
        cases: [
          Case(method: "GetJob", path: "/kiln.v1.JobService/GetJob", request: try getJob.serializedData(), replyBytes: getJobReply.count),
          Case(method: "ListJobs", path: "/kiln.v1.JobService/ListJobs", request: try listJobs.serializedData(), replyBytes: listJobsReply.count),
        ],
        getJobReply: getJobReply, listJobsReply: listJobsReply)
    }
  }

  private static func withBenchClient<R: Sendable>(
    port: Int, token: String, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> R
  ) async throws -> R {
    try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
      interceptors: [BearerTokenInterceptor(token: token)], handleClient: body)
  }
}

/// A gRPC length-prefixed message: not compressed, 4-byte big-endian length, the bytes.
func grpcFrame(_ message: Data) -> Data {
  var frame = Data([0])
  withUnsafeBytes(of: UInt32(message.count).bigEndian) { frame.append(contentsOf: $0) }
  frame.append(message)
  return frame
}

/// Runs `h2load` and reads its figures.
enum H2Load {
  struct Outcome {
    var requestsPerSecond: Double
    /// Replies whose DATA bytes were all received (h2load counts HTTP 200 as success
    /// even when grpc-status is not 0, so the bytes are the check).
    var completeReplies: Int
    /// Microseconds per call, sorted, when a log file was asked for.
    var latencies: [Double]

    func percentile(_ p: Double) -> Double { kiln_bench.percentile(latencies, p) }
  }

  static func run(
    port: Int, method: String, body: String, token: String, calls: Int, connections: Int, streams: Int,
    expectedReplyBytes: Int, logFile: String? = nil
  ) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/h2load")
    var arguments = [
      "-n", String(calls), "-c", String(connections), "-m", String(streams), "-t", "1", "-d", body,
      "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", "authorization: Bearer \(token)",
    ]
    if let logFile { arguments += ["--log-file", logFile] }
    process.arguments = arguments + ["http://127.0.0.1:\(port)\(method)"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let finished = text.split(separator: "\n").first(where: { $0.hasPrefix("finished in") }),
      let rate = finished.split(separator: ",").dropFirst().first?.split(separator: " ").first.flatMap({ Double($0) })
    else { throw ValidationError("h2load failed:\n\(text)") }
    // "traffic: 58.62MB (61466816) total, 1.20MB (...) headers (space savings ...), 45.41MB (47616000) data"
    var dataBytes = 0
    if let traffic = text.split(separator: "\n").first(where: { $0.hasPrefix("traffic:") }),
      let dataPart = traffic.split(separator: ",").last, let open = dataPart.firstIndex(of: "("),
      let close = dataPart.firstIndex(of: ")")
    {
      dataBytes = Int(dataPart[dataPart.index(after: open)..<close]) ?? 0
    }
    var latencies: [Double] = []
    if let logFile, let log = try? String(contentsOfFile: logFile, encoding: .utf8) {
      latencies = log.split(separator: "\n").compactMap { line in line.split(separator: "\t").last.flatMap { Double($0) } }
        .sorted()
      try? FileManager.default.removeItem(atPath: logFile)
    }
    return Outcome(requestsPerSecond: rate, completeReplies: dataBytes / (5 + expectedReplyBytes), latencies: latencies)
  }
}

/// `kiln-bench ceiling-server`: the ceiling of `unary`. Serves kilnd's GetJob and
/// ListJobs with the same grpc-swift server and transport and no Kiln code: each call
/// decodes its request and answers a reply decoded once at start.
struct CeilingServer: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ceiling-server", abstract: "An empty-handler server of kilnd's methods (the ceiling of `unary`).",
    shouldDisplay: false)

  @Option var port: Int
  @Option(help: "A directory of replies, one file per method name, as protobuf bytes.") var replies: String

  func run() async throws {
    let directory = URL(fileURLWithPath: replies)
    let service = CannedJobService(
      getJob: try Kiln_V1_GetJobResponse(serializedBytes: Data(contentsOf: directory.appendingPathComponent("GetJob"))),
      listJobs: try Kiln_V1_ListJobsResponse(serializedBytes: Data(contentsOf: directory.appendingPathComponent("ListJobs"))))
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext,
      config: KilnApplication.transportBaseConfiguration())
    try await GRPCServer(transport: transport, services: [service]).serve()
  }
}

/// Answers fixed replies, the way generated service code adapts a unary handler.
struct CannedJobService: RegistrableRPCService {
  let getJob: Kiln_V1_GetJobResponse
  let listJobs: Kiln_V1_ListJobsResponse

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    Self.register(Kiln_V1_JobService.Method.GetJob.self, reply: getJob, with: &router)
    Self.register(Kiln_V1_JobService.Method.ListJobs.self, reply: listJobs, with: &router)
  }

  private static func register<Method, Transport: ServerTransport>(
    _ method: Method.Type, reply: Method.Output, with router: inout RPCRouter<Transport>
  ) where Method: UnaryMethod {
    router.registerHandler(
      forMethod: Method.descriptor, deserializer: ProtobufDeserializer<Method.Input>(),
      serializer: ProtobufSerializer<Method.Output>(),
      handler: { request, context in
        let single = try await ServerRequest(stream: request)
        _ = single.message
        return StreamingServerResponse(single: ServerResponse(message: reply))
      })
  }
}

/// A generated unary method's namespace.
protocol UnaryMethod {
  associatedtype Input: SwiftProtobuf.Message & Sendable
  associatedtype Output: SwiftProtobuf.Message & Sendable
  static var descriptor: MethodDescriptor { get }
}
extension Kiln_V1_JobService.Method.GetJob: UnaryMethod {}
extension Kiln_V1_JobService.Method.ListJobs: UnaryMethod {}

extension JSONEncoder {
  static var pretty: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return encoder
  }
}
