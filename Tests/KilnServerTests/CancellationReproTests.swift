import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnEngine
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

/// Calls cancelled at random moments while in flight: neither the client nor the server
/// may trap or hang. Under both sanitizers a test whose time limit cancelled its calls
/// ended in NIO's "Deinited NIOAsyncWriter without calling finish()"; these look for it
/// without them. Opt in with KILN_CANCEL_STRESS=N (calls); not in CI until they pass.
///
/// Found on 2026-12-01: `cancelInFlight` passes (3,000 calls); `cancelWholeClient`
/// (a task running `withGRPCClient` with 8 busy callers, cancelled after 0–30 ms) never
/// finished — still to find whether the client, the server or the test's loop hangs.
@Suite(
  "Cancelled calls", .enabled(if: ProcessInfo.processInfo.environment["KILN_CANCEL_STRESS"] != nil),
  .timeLimit(.minutes(2)))
struct CancellationReproTests {
  @Test("calls cancelled at random moments leave client and server working")
  func cancelInFlight() async throws {
    let calls = Int(ProcessInfo.processInfo.environment["KILN_CANCEL_STRESS"] ?? "") ?? 2000
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { _, app in
      let port = try await app.listeningPort
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      ) { raw in
        let jobs = Kiln_V1_JobService.Client(wrapping: raw)
        for i in 0..<calls {
          let call = Task { _ = try await jobs.pauseJob(.with { $0.id = "x\(i)" }) }
          try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
          call.cancel()
          _ = await call.result
        }
        // Still served afterwards.
        await #expect(throws: RPCError.self) { _ = try await jobs.pauseJob(.with { $0.id = "after" }) }
      }
    }
  }

  @Test("a client cancelled as a whole while its calls are in flight leaves the server working")
  func cancelWholeClient() async throws {
    let rounds = (Int(ProcessInfo.processInfo.environment["KILN_CANCEL_STRESS"] ?? "") ?? 2000) / 10
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { _, app in
      let port = try await app.listeningPort
      for round in 0..<rounds {
        let bodyReturned = Signal()
        let client = Task {
          try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
          ) { raw in
            let jobs = Kiln_V1_JobService.Client(wrapping: raw)
            try await withThrowingTaskGroup(of: Void.self) { group in
              for i in 0..<8 {
                group.addTask {
                  for j in 0..<1000 {
                    // A cancelled caller stops; `try?` alone would go on calling for ever.
                    if Task.isCancelled { return }
                    _ = try? await jobs.pauseJob(.with { $0.id = "x\(i)-\(j)" })
                  }
                }
              }
              try await group.waitForAll()
            }
            bodyReturned.fire()
          }
        }
        let delay = Int.random(in: 0...30000)
        try await Task.sleep(for: .microseconds(delay))
        client.cancel()
        // A round that does not end names itself, and whether the server still answers a
        // new client: the hang is then the cancelled client's own.
        let ended = Signal()
        let watchdog = Task {
          try await Task.sleep(for: .seconds(10))
          guard !ended.isFired else { return }
          var answered = false
          try? await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
          ) { raw in
            do {
              _ = try await Kiln_V1_JobService.Client(wrapping: raw).pauseJob(.with { $0.id = "probe" })
            } catch is RPCError {
              answered = true
            }
          }
          Issue.record("round \(round): the client cancelled after \(delay) µs did not end in 10 s; its body \(bodyReturned.isFired ? "returned (so withGRPCClient waits for runConnections)" : "did not return (a call ignores the cancellation)"); the server \(answered ? "still answers a new client" : "does not answer")")
        }
        _ = await client.result
        ended.fire()
        watchdog.cancel()
      }
    }
  }
}
