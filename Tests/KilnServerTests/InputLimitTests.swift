import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

/// Oversized input is refused where it enters, naming the field and the limit; what
/// the server repeats of a client's input (messages, the audit trail) stays bounded.
@Suite("Input limits", .timeLimit(.minutes(2)))
struct InputLimitTests {
  @Test("job parameters past their limits are INVALID_ARGUMENT naming the field and the limit, and store nothing")
  func paramLimits() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let many = Dictionary(uniqueKeysWithValues: (0...InputLimits.maxParams).map { ("k\($0)", "v") })
      await expectRPCError(.invalidArgument, mentioning: "params: holds 65 parameters, more than the limit of 64") {
        _ = try await jobs.submit(params: many)
      }
      await expectRPCError(.invalidArgument, mentioning: "params.big: is 16385 bytes, longer than the limit of 16384") {
        _ = try await jobs.submit(params: ["big": String(repeating: "x", count: InputLimits.maxParamValueBytes + 1)])
      }
      let longName = String(repeating: "n", count: 10_000)
      let refused = await expectRPCError(.invalidArgument, mentioning: "longer than 128 bytes") {
        _ = try await jobs.submit(params: [longName: "v"])
      }
      #expect((refused?.message.utf8.count ?? .max) < 300, "the message quotes a bounded prefix of the name")
      let wide = Dictionary(uniqueKeysWithValues: (0..<5).map { ("k\($0)", String(repeating: "y", count: 15_000)) })
      await expectRPCError(.invalidArgument, mentioning: "params: holds 75010 bytes, more than the limit of 65536") {
        _ = try await jobs.submit(params: wide)
      }
      #expect(try await jobs.listJobs(.init()).jobs.isEmpty)
      // At the limits, accepted.
      let atLimit = Dictionary(uniqueKeysWithValues: (0..<InputLimits.maxParams).map { ("k\($0)", "v") })
      _ = try await jobs.submit(params: atLimit.merging(["sleep_ms": "20"]) { $1 }.filter { $0.key != "k0" })
    }
  }

  @Test("a 100 KB id is refused with a bounded message, not echoed in full")
  func longIDs() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let id = String(repeating: "i", count: 100_000)
      for call in [
        { _ = try await jobs.getJob(.with { $0.id = id }) },
        { _ = try await jobs.pauseJob(.with { $0.id = id }) },
        { _ = try await jobs.batchJobs(.with { $0.action = .pause; $0.ids = .with { $0.ids = ["ok", id] } }) },
      ] as [() async throws -> Void] {
        let error = await expectRPCError(.invalidArgument, mentioning: "longer than the limit of 128") { try await call() }
        #expect((error?.message.utf8.count ?? .max) <= InputLimits.maxMessageBytes)
      }
      let missing = String(repeating: "m", count: 100)
      let error = await expectRPCError(.notFound, mentioning: "not found") { _ = try await jobs.getJob(.with { $0.id = missing }) }
      #expect(error?.message.contains(String(missing.prefix(64)) + "…") == true)
    }
  }

  @Test("the audit trail keeps bounded copies of a refused request's fields")
  func auditBounded() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { client, _ in
      let project = String(repeating: "p", count: 1_000_000)
      await expectRPCError(.invalidArgument, mentioning: "project") {
        _ = try await client.jobService.submitJob(.with {
          $0.project = project
          $0.jobType = "INDEX_BUILD"
          $0.subject = "s"
        })
      }
      let events = try await client.auditEvents().events
      let refusal = try #require(events.first { $0.method == "kiln.v1.JobService/SubmitJob" })
      #expect(refusal.target.utf8.count <= 256 && refusal.project.utf8.count <= 256)
      #expect(refusal.message.utf8.count <= 1024)
    }
  }

  @Test("refusals without a valid token are rate-limited in the audit trail, and the count of those dropped is recorded")
  func unauthenticatedRefusalsRateLimited() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    // One row a second, bursts of 10: however slowly this machine makes the 401 calls
    // (more than a minute would be needed to record 70), most are dropped.
    try await harness.run(configure: { $0.unauthenticatedAuditRowsPerSecond = 1 }) { client, app in
      let start = ContinuousClock.now
      let port = try await app.listeningPort
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      ) { raw in
        let jobs = Kiln_V1_JobService.Client(wrapping: raw)
        for _ in 0..<400 {
          await expectRPCError(.unauthenticated, mentioning: "bearer token") { _ = try await jobs.pauseJob(.with { $0.id = "x" }) }
        }
        try await Task.sleep(for: .milliseconds(1100))
        await expectRPCError(.unauthenticated, mentioning: "bearer token") { _ = try await jobs.pauseJob(.with { $0.id = "x" }) }
      }
      let events = try await client.auditEvents(pageSize: 500).events.filter { $0.method == "kiln.v1.JobService/PauseJob" }
      let seconds = Double((ContinuousClock.now - start).components.seconds) + 1
      #expect(Double(events.count) <= 10 + seconds, "\(events.count) rows for 401 refusals in \(seconds) s")
      #expect(events.contains { $0.message.contains("more such refusals were not recorded") })
    }
  }
}
