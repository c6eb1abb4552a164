import KilnClient
import KilnServer
import KilnTestSupport

extension ServerHarness {
  /// Runs `body` with the generated `kiln.v1.JobService` client: these tests speak the wire.
  func run<R: Sendable>(
    maxRunning: Int = 8, perProject: Int = 8, configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (JobsClient, KilnApplication) async throws -> R
  ) async throws -> R {
    try await run(maxRunning: maxRunning, perProject: perProject, port: 0, configure: configure) { client, app in
      try await ServerHarness.$currentEngine.withValue(app.engine) { try await body(client.jobService, app) }
    }
  }
}
