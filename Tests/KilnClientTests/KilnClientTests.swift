import Foundation
import GRPCCore
@testable import KilnClient
import KilnEngine
public import KilnWatch
import KilnServer
import KilnTestSupport
import Synchronization
import Testing

@Suite("The Swift SDK against a real server", .timeLimit(.minutes(3)))
struct KilnClientTests {
  static let long = ["sleep_ms": "600000"]

  @Test("every unary method returns typed values")
  func unaryMethods() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { kiln, _ in
      let types = try await kiln.jobTypes()
      #expect(types.map(\.name).contains("INDEX_BUILD"))
      #expect(types.first { $0.name == "INDEX_BUILD" }?.steps.count == 4)

      let quick = try await kiln.submit(project: "sales", type: "SNAPSHOT_BUILD", subject: "orders", params: ["sleep_ms": "10"])
      #expect(quick.status == .pending && quick.project == "sales" && quick.steps.count == 2)
      let done = try await kiln.waitForJob(quick.id)
      #expect(done.status == .finished && done.progress == 100)
      #expect(try await kiln.job(quick.id) == done)

      let log = try await kiln.stepLog(jobID: quick.id, step: "BUILD_SNAPSHOT")
      #expect(String(decoding: log.data, as: UTF8.self).contains("BUILD_SNAPSHOT: 100%"))
      #expect(log.complete)

      let held = try await kiln.submit(project: "sales", type: "INDEX_BUILD", subject: "a", params: Self.long)
      let waiting = try await kiln.submit(project: "sales", type: "INDEX_BUILD", subject: "b", params: Self.long)
      // A timed wait for a job that does not end: DEADLINE_EXCEEDED naming it and its status.
      let timedOut = await #expect(throws: KilnError.self) {
        _ = try await kiln.waitForJob(waiting.id, timeout: .seconds(2))
      }
      #expect(timedOut?.code == .deadlineExceeded)
      // The job's last status is named once the watch has seen it (a loaded machine may take longer).
      let timeoutMessage = timedOut?.message ?? ""
      #expect(
        ["its status is still PENDING", "it was not seen yet"].map { "job \(waiting.id) did not end within 2.0 seconds: \($0)" }
          .contains(timeoutMessage), "\(timeoutMessage)")
      #expect(try await kiln.pause(waiting.id).status == .paused)
      #expect(try await kiln.resume(waiting.id).status == .pending)
      #expect(try await kiln.restart(held.id).attempt == 2)
      #expect(try await kiln.discard(held.id).status == .discarded)
      try await kiln.delete(held.id)

      let page = try await kiln.listJobs(filter: JobFilter(projects: ["sales"]), order: JobOrder(field: .subject, ascending: true))
      #expect(page.jobs.map(\.subject) == ["b", "orders"])
      #expect(page.totalSize == 2 && page.nextPageToken == nil)

      let batch = try await kiln.batch(.pause, ids: [waiting.id, quick.id])
      #expect(batch.succeeded == 1 && batch.failed == 1)
      #expect(batch.items[0].succeeded)
      guard case .failure(let refusal) = batch.items[1].result else {
        Issue.record("the finished job should refuse a pause")
        return
      }
      #expect(refusal.code == .failedPrecondition)
      let all = try await kiln.batch(.discard, matching: JobFilter(statuses: [.paused]))
      #expect(all.succeeded == 1)
    }
  }

  @Test("allJobs walks every page")
  func pageWalking() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { kiln, _ in
      var ids: Set<String> = []
      for i in 0..<9 {
        ids.insert(try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "s\(i)", params: Self.long).id)
      }
      var seen: [String] = []
      for try await job in kiln.allJobs(pageSize: 2) { seen.append(job.id) }
      #expect(seen.count == 9, "five pages of two")
      #expect(Set(seen) == ids)
    }
  }

  @Test("server errors become KilnError with the code and its details")
  func errors() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { kiln, _ in
      let missing = await #expect(throws: KilnError.self) { try await kiln.job("nope") }
      #expect(missing?.code == .notFound)
      let invalid = await #expect(throws: KilnError.self) {
        try await kiln.submit(project: "p", type: "NOPE", subject: "s")
      }
      #expect(invalid?.code == .invalidArgument)
      #expect(invalid?.field == "job_type")
      let job = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "0"])
      _ = try await kiln.waitForJob(job.id)
      let refused = await #expect(throws: KilnError.self) { try await kiln.pause(job.id) }
      #expect(refused?.code == .failedPrecondition)
      #expect(refused?.jobStatus == .finished)
      #expect(refused?.allowedActions == [.delete])
      let stale = await #expect(throws: KilnError.self) { try await kiln.delete(job.id, expectedRevision: 1) }
      #expect(stale?.code == .aborted)
    }
  }

  /// Runs the handler of the first PauseJob, then reports UNAVAILABLE, as if the reply was lost.
  final class LoseFirstPauseReply: ServerInterceptor {
    let calls = Atomic<Int>(0)

    func intercept<Input: Sendable, Output: Sendable>(
      request: StreamingServerRequest<Input>, context: ServerContext,
      next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
      guard context.descriptor.method == "PauseJob" else { return try await next(request, context) }
      let response = try await next(request, context)
      if calls.add(1, ordering: .relaxed).newValue == 1 {
        throw RPCError(code: .unavailable, message: "connection dropped (injected)")
      }
      return response
    }
  }

  @Test("a mutation retried after a lost reply acts once")
  func retryActsOnce() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let faults = LoseFirstPauseReply()
    try await harness.run(maxRunning: 1, configure: { $0.additionalInterceptors = [faults] }) { kiln, _ in
      _ = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "holder", params: Self.long)
      let job = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "s", params: Self.long)
      let paused = try await kiln.pause(job.id)
      #expect(faults.calls.load(ordering: .relaxed) == 2, "the first reply was lost and the SDK retried")
      #expect(paused.status == .paused)
      // Acted once: the job's revision is the one pause's, with no refusal on the retry.
      #expect(try await kiln.job(job.id).revision == paused.revision)
      #expect(paused.revision == job.revision + 1)
    }
  }

  @Test("watchJobs survives a restart of the server: no change lost or repeated")
  func watchSurvivesRestart() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let port = try ServerHarness.stablePort()
    let watcher = KilnClientConfiguration(
      host: "127.0.0.1", port: port, token: try await harness.bootstrap(), retry: RetryPolicy(initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200)))
    try await withKilnClient(watcher) { watching in
      var iterator = watching.watchJobs(includeProgress: true).makeAsyncIterator()
      var revisions: [Int64] = []
      var finished: Set<String> = []
      // First life: the snapshot (empty), then jobs are submitted; then the server stops.
      try await harness.run(port: port) { kiln, app in
        guard case .snapshot(let jobs, _) = try await iterator.next() else {
          Issue.record("a watch starts with its snapshot")
          return
        }
        #expect(jobs.isEmpty)
        for i in 0..<3 { _ = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "a\(i)", params: ["sleep_ms": "400"]) }
        while revisions.count < 6, let event = try await iterator.next() {
          if event.job != nil { revisions.append(event.revision) }
        }
      }
      // Second life, same port and data: running jobs are requeued and finish.
      try await harness.run(port: port) { kiln, _ in
        _ = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "b", params: ["sleep_ms": "10"])
        while finished.count < 4, let event = try await iterator.next() {
          if let job = event.job {
            revisions.append(event.revision)
            if job.status == .finished { finished.insert(job.id) }
          }
          if case .resynchronized = event { Issue.record("no resynchronization expected") }
        }
      }
      let first = try #require(revisions.first)
      #expect(revisions == Array(first..<(first + Int64(revisions.count))), "consecutive revisions across the restart")
    }
  }

  @Test("a watch that resumes past the server's log gets a fresh snapshot as resynchronized")
  func resynchronizes() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(configure: { $0.eventRetentionCount = 2 }) { kiln, app in
      for i in 0..<4 { _ = try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "r\(i)", params: ["sleep_ms": "0"]) }
      var remaining = 4
      for try await event in kiln.watchJobs() {
        if case .snapshot(let jobs, _) = event { remaining = jobs.filter { !$0.status.isFinal }.count }
        if case .updated(let job, _) = event, job.status == .finished { remaining -= 1 }
        if remaining <= 0 { break }
      }
      try await app.compactor.compact()
      var iterator = kiln.watchJobs(since: 1).makeAsyncIterator()
      let first = try await iterator.next()
      guard case .resynchronized(let jobs, _) = first else {
        Issue.record("expected a resynchronized snapshot, got \(String(describing: first))")
        return
      }
      #expect(jobs.count == 4)
    }
  }

  @Test("followStepLog streams a step's log to its end")
  func followLog() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { kiln, _ in
      let job = try await kiln.submit(project: "p", type: "SNAPSHOT_BUILD", subject: "s", params: ["sleep_ms": "300"])
      var text = ""
      for try await data in kiln.followStepLog(jobID: job.id, step: "0") { text += String(decoding: data, as: UTF8.self) }
      #expect(text.contains("BUILD_SNAPSHOT: 100%"))
      #expect(text.contains("=== BUILD_SNAPSHOT succeeded ==="))
    }
  }

  @Test("configuration from the environment")
  func environment() throws {
    let configuration = try KilnClientConfiguration.fromEnvironment(["KILN_ADDR": "[::1]:9000", "KILN_TOKEN": "t"])
    #expect(configuration.host == "::1" && configuration.port == 9000 && configuration.token == "t")
    #expect(throws: KilnError.self) { try KilnClientConfiguration.fromEnvironment(["KILN_ADDR": "nohost"]) }
    let policy = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
    #expect(policy.backoffBound(forRetry: 1) == .milliseconds(100))
    #expect(policy.backoffBound(forRetry: 3) == .milliseconds(400))
    #expect(policy.backoffBound(forRetry: 9) == .seconds(1))
    // Jitter: every wait is within its bound, and the waits of many clients spread out.
    let waits = (0..<200).map { _ in policy.backoff(forRetry: 3) }
    #expect(waits.allSatisfy { $0 >= .zero && $0 <= .milliseconds(400) })
    #expect(Set(waits).count > 100)
    #expect(waits.contains { $0 < .milliseconds(200) } && waits.contains { $0 > .milliseconds(200) })
  }
}
