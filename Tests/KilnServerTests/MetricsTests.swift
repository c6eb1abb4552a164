import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnProto
import KilnServer
import KilnTestSupport
import NIOCore
import NIOHTTP1
import SwiftProtobuf
import Testing

/// One sample of a scrape: `name{labels} value`.
struct MetricSample: Hashable {
  var name: String
  var labels: [String: String]
  var value: Double
}

/// A scrape, read strictly as Prometheus' text format 0.0.4: every sample belongs to a
/// family with one `# TYPE` line, names and labels are well formed, histograms'
/// buckets are cumulative and end at `+Inf` equal to `_count`.
struct Scrape {
  var samples: [MetricSample] = []
  var types: [String: String] = [:]

  init(_ text: String) throws {
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix("# TYPE ") {
        let parts = line.split(separator: " ")
        guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
          throw ScrapeError("bad TYPE line: \(line)")
        }
        guard types.updateValue(String(parts[3]), forKey: String(parts[2])) == nil else {
          throw ScrapeError("two TYPE lines for \(parts[2])")
        }
        continue
      }
      if line.hasPrefix("#") { continue }
      samples.append(try Self.sample(String(line)))
    }
    for sample in samples {
      let family = ["_bucket", "_sum", "_count"].reduce(sample.name) { name, suffix in
        types[name] == nil && name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
      }
      guard types[family] != nil else { throw ScrapeError("\(sample.name) has no TYPE line") }
    }
    for (family, type) in types where type == "histogram" {
      let buckets = samples.filter { $0.name == family + "_bucket" }
      let series = Set(buckets.map { $0.labels.filter { $0.key != "le" } })
      for labels in series {
        let mine = buckets.filter { $0.labels.filter { $0.key != "le" } == labels }
        let values = mine.map(\.value)
        guard values == values.sorted(), mine.last?.labels["le"] == "+Inf" else {
          throw ScrapeError("\(family)\(labels): buckets not cumulative or not ending at +Inf")
        }
        let count = samples.first { $0.name == family + "_count" && $0.labels == labels }?.value
        guard count == values.last else { throw ScrapeError("\(family)\(labels): _count differs from the +Inf bucket") }
      }
    }
  }

  static func sample(_ line: String) throws -> MetricSample {
    let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
    let name = String(line[..<nameEnd])
    guard name.range(of: #"^[a-zA-Z_:][a-zA-Z0-9_:]*$"#, options: .regularExpression) != nil else {
      throw ScrapeError("bad metric name in: \(line)")
    }
    var rest = line[nameEnd...]
    var labels: [String: String] = [:]
    if rest.first == "{" {
      guard let close = rest.lastIndex(of: "}") else { throw ScrapeError("unclosed labels: \(line)") }
      let body = rest[rest.index(after: rest.startIndex)..<close]
      // Label values here never contain `",`; a value with escapes would need a real lexer.
      for pair in body.split(separator: ",") where !pair.isEmpty {
        guard let equals = pair.firstIndex(of: "="), pair.last == "\"",
          pair[pair.index(after: equals)] == "\""
        else { throw ScrapeError("bad label in: \(line)") }
        labels[String(pair[..<equals])] = String(pair[pair.index(equals, offsetBy: 2)..<pair.index(before: pair.endIndex)])
      }
      rest = rest[rest.index(after: close)...]
    }
    let valueText = rest.trimmingCharacters(in: .whitespaces)
    guard let value = Double(valueText) ?? (valueText == "+Inf" ? .infinity : nil) else {
      throw ScrapeError("bad value in: \(line)")
    }
    return MetricSample(name: name, labels: labels, value: value)
  }

  /// The value of the one sample with `name` and exactly `labels` (0 when absent).
  func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
    samples.first { $0.name == name && $0.labels == labels }?.value ?? 0
  }

  /// The sum over every sample named `name` whose labels include `labels`.
  func total(_ name: String, where labels: [String: String] = [:]) -> Double {
    samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
      .map(\.value).reduce(0, +)
  }
}

struct ScrapeError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

@Suite("Prometheus metrics on --metrics-port", .timeLimit(.minutes(3)))
struct MetricsTests {
  static func scrape(_ port: Int) async throws -> Scrape {
    let response = try await HTTPClient.shared.execute(
      HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(30))
    #expect(response.status == .ok)
    #expect(response.headers.first(name: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
    let body = try await response.body.collect(upTo: 16 << 20)
    return try Scrape(String(buffer: body))
  }

  @Test("a scrape parses as Prometheus text, and its counters and gauges move with the calls made")
  func countersMove() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(configure: { $0.metricsPort = 0 }) { jobs, app in
      let port = try #require(await app.metricsPort)
      let before = try await Self.scrape(port)
      #expect(before.types["kiln_store_commit_seconds"] == "histogram")
      #expect(before.value("process_resident_memory_bytes") > 1_000_000)
      #expect(before.value("process_open_fds") > 0)

      // Job counts, exact from the event stream: two finished, one paused.
      let done = try await jobs.submit(params: ["sleep_ms": "0"])
      let other = try await jobs.submit(subject: "s2", params: ["sleep_ms": "0"])
      let held = try await jobs.submit(subject: "s3", params: ["sleep_ms": "600000"])
      #expect(try await jobs.waitFor(held.id, .running))
      _ = try await jobs.pauseJob(.with { $0.id = held.id })
      #expect(try await jobs.waitFor(done.id, .finished))
      #expect(try await jobs.waitFor(other.id, .finished))
      await expectRPCError(.notFound, mentioning: "not found") { _ = try await jobs.getJob(.with { $0.id = "no-such-job" }) }

      // A call without a token is counted with the code its client saw.
      let grpcPort = try await app.listeningPort
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: grpcPort), transportSecurity: .plaintext)
      ) { raw in
        await expectRPCError(.unauthenticated, mentioning: "bearer token") {
          _ = try await Kiln_V1_JobService.Client(wrapping: raw).getJob(.with { $0.id = done.id })
        }
      }

      // An open watch is counted while it runs, and as ended once it closes.
      let watching = Task { try await jobs.collect(.init()) { _ in false } }
      var during = try await Self.scrape(port)
      let watchSeen = await eventually {
        during = (try? await Self.scrape(port)) ?? during
        return during.value("kiln_watches_open") == 1
      }
      #expect(watchSeen)
      watching.cancel()
      _ = try? await watching.value

      let expected: [String: Double] = ["FINISHED": 2, "PAUSED": 1, "PENDING": 0, "RUNNING": 0]
      var after = try await Self.scrape(port)
      let settled = await eventually {
        after = (try? await Self.scrape(port)) ?? after
        let counts = expected.allSatisfy { status, count in
          after.value("kiln_jobs", ["project": "p1", "status": status]) == count
        }
        return counts && after.value("kiln_watches_open") == 0 && after.total("kiln_watches_ended_total") >= 1
      }
      #expect(after.types["kiln_jobs"] == "gauge")
      #expect(after.types["grpc_server_handled_total"] == "counter")
      #expect(after.types["grpc_server_handling_seconds"] == "histogram")
      #expect(settled, "\(after.samples.filter { $0.name.hasPrefix("kiln_jobs") || $0.name.hasPrefix("kiln_watches") })")

      let jobService = ["grpc_service": "kiln.v1.JobService"]
      func handled(_ method: String, _ code: String) -> Double {
        after.value(
          "grpc_server_handled_total", jobService.merging(["grpc_method": method, "grpc_type": "unary", "grpc_code": code]) { $1 })
      }
      #expect(handled("SubmitJob", "OK") == 3)
      #expect(handled("PauseJob", "OK") == 1)
      #expect(handled("GetJob", "NOT_FOUND") == 1)
      #expect(handled("GetJob", "UNAUTHENTICATED") == 1)
      #expect(
        after.value("grpc_server_started_total", jobService.merging(["grpc_method": "SubmitJob", "grpc_type": "unary"]) { $1 })
          == 3)
      #expect(
        after.value(
          "grpc_server_handling_seconds_count", jobService.merging(["grpc_method": "SubmitJob", "grpc_type": "unary"]) { $1 })
          == 3)
      #expect(after.total("grpc_server_started_total", where: ["grpc_method": "WatchJobs", "grpc_type": "server_stream"]) == 1)

      // Steps: both quick jobs ran every step to success; the held one was stopped.
      #expect(after.total("kiln_step_executions_total", where: ["job_type": "INDEX_BUILD", "outcome": "succeeded"]) == 8)
      #expect(after.total("kiln_step_executions_total", where: ["outcome": "stopped"]) == 1)
      // Events and commits: the hub has read up to the latest revision.
      let latest = try await jobs.listJobs(.init()).jobs.map(\.revision).max() ?? 0
      #expect(after.value("kiln_revision") >= Double(latest))
      #expect(after.value("kiln_events_total") >= Double(latest) - before.value("kiln_revision"))
      #expect(after.value("kiln_store_commit_seconds_count") > before.value("kiln_store_commit_seconds_count"))
      #expect(after.value("kiln_store_commit_events_sum") >= after.value("kiln_events_total"))
    }
  }

  @Test("job counts start from the store's own count: jobs made before a restart are counted after it")
  func countsSurviveRestart() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      for i in 0..<3 { _ = try await jobs.submit(subject: "s\(i)", params: ["sleep_ms": "600000"]) }
      let running = try await jobs.listJobs(.init()).jobs
      for job in running { _ = try await jobs.pauseJob(.with { $0.id = job.id }) }
    }
    try await harness.run(configure: { $0.metricsPort = 0 }) { _, app in
      let port = try #require(await app.metricsPort)
      var scrape = try await Self.scrape(port)
      let counted = await eventually {
        scrape = (try? await Self.scrape(port)) ?? scrape
        return scrape.value("kiln_jobs", ["project": "p1", "status": "PAUSED"]) == 3
      }
      #expect(counted, "\(scrape.samples.filter { $0.name == "kiln_jobs" })")
    }
  }

  @Test("off unless asked: no port, nothing listening")
  func offByDefault() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { _, app in
      #expect(await app.metricsPort == nil)
    }
  }
}
