import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

/// Input that used to kill kilnd: each case is refused with the right code, and the
/// server goes on serving.
@Suite("Hostile input", .timeLimit(.minutes(2)))
struct HostileInputTests {
  /// Runs `body` with a plain gRPC client that sets no deadline of its own, so the
  /// request carries only the `grpc-timeout` the test writes.
  func withRawClient(port: Int, token: String?, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void)
    async throws
  {
    try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
      interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
    ) { client in try await body(client) }
  }

  /// `grpc-timeout: -1S` reached a precondition in grpc-swift and aborted the process,
  /// with no token needed (health is open).
  @Test(
    "a malformed grpc-timeout is refused with INTERNAL, with or without a token, and the server stays up",
    arguments: ["-1S", "-9999999n", "+5S", "1x", "S", "123456789S", " 1S", "1.5S"])
  func malformedTimeout(value: String) async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      try await withRawClient(port: port, token: nil) { (client) async throws -> Void in
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        await expectRPCError(.internalError, mentioning: "malformed grpc-timeout") {
          _ = try await health.check(.init(), metadata: ["grpc-timeout": .string(value)])
        }
        let jobs = Kiln_V1_JobService.Client(wrapping: client)
        await expectRPCError(.internalError, mentioning: "grpc-timeout") {
          _ = try await jobs.listJobs(.init(), metadata: ["grpc-timeout": .string(value)])
        }
        #expect(try await health.check(.init()).status == .serving)
        #expect(try await health.check(.init(), metadata: ["grpc-timeout": "5S"]).status == .serving)
      }
    }
  }

  /// Out-of-range timestamps trapped in the conversion to dates or stored milliseconds.
  @Test("timestamps outside protobuf's range are INVALID_ARGUMENT naming the field, in every request that takes one")
  func timestampsOutOfRange() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, app in
      let port = try await app.listeningPort
      try await withRawClient(port: port, token: try harness.adminToken) { (client) async throws -> Void in
        let access = Kiln_V1_AccessService.Client(wrapping: client)
        let tooLate = Google_Protobuf_Timestamp(seconds: Int64.max, nanos: 0)
        let tooEarly = Google_Protobuf_Timestamp(seconds: Int64.min, nanos: 0)
        let badNanos = Google_Protobuf_Timestamp(seconds: 0, nanos: -1)
        for (name, stamp) in [("from", tooLate), ("from", Google_Protobuf_Timestamp(seconds: 10_000_000_000_000_000, nanos: 0)), ("from", badNanos)] {
          await expectRPCError(.invalidArgument, mentioning: "filter.create_time_\(name)") {
            _ = try await jobs.listJobs(.with { $0.filter.createTimeFrom = stamp })
          }
        }
        await expectRPCError(.invalidArgument, mentioning: "filter.create_time_to") {
          _ = try await jobs.listJobs(.with { $0.filter.createTimeTo = tooEarly })
        }
        await expectRPCError(.invalidArgument, mentioning: "filter.create_time_from") {
          _ = try await jobs.batchJobs(.with {
            $0.action = .pause
            $0.filter = .with { $0.createTimeFrom = tooLate }
          })
        }
        await expectRPCError(.invalidArgument, mentioning: "filter.create_time_to") {
          try await jobs.watchJobs(.with { $0.filter.createTimeTo = tooEarly }) { response in
            for try await _ in response.messages {}
          }
        }
        await expectRPCError(.invalidArgument, mentioning: "filter.time_from") {
          _ = try await access.listAuditEvents(.with { $0.filter.timeFrom = tooLate })
        }
        await expectRPCError(.invalidArgument, mentioning: "filter.time_to") {
          _ = try await access.listAuditEvents(.with { $0.filter.timeTo = tooEarly })
        }
        await expectRPCError(.invalidArgument, mentioning: "ttl") {
          _ = try await access.createToken(.with { $0.ttl = Google_Protobuf_Duration(seconds: Int64.max, nanos: 0) })
        }
        await expectRPCError(.invalidArgument, mentioning: "ttl") {
          _ = try await access.createToken(.with { $0.ttl = Google_Protobuf_Duration(seconds: 10, nanos: -5) })
        }
        // The edges of the range are valid.
        _ = try await jobs.listJobs(.with {
          $0.filter.createTimeFrom = Google_Protobuf_Timestamp(seconds: -62_135_596_800, nanos: 0)
          $0.filter.createTimeTo = Google_Protobuf_Timestamp(seconds: 253_402_300_799, nanos: 999_999_999)
        })
        _ = try await access.listAuditEvents(.with {
          $0.filter.timeTo = Google_Protobuf_Timestamp(seconds: 253_402_300_799, nanos: 0)
        })
      }
      #expect(try await jobs.listJobs(.init()).jobs.isEmpty)
    }
  }
}
