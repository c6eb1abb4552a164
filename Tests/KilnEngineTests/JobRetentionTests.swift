import Foundation
import KilnCore
import KilnEngine
import KilnStore
import Logging
import ServiceLifecycle
import Testing

@Suite("Job retention", .timeLimit(.minutes(2)))
struct JobRetentionTests {
  static let day: TimeInterval = 24 * 3600

  /// A job of `status` whose last change was at `time`, with a step log.
  func makeJob(_ store: any JobStore, _ harness: EngineHarness, _ status: JobStatus, at time: Date) async throws -> String {
    let job = Job(
      id: UUID().uuidString.lowercased(), project: "p1", jobType: "SLEEPY", subject: "s",
      steps: [Step(name: "NAP", index: 0)], submitter: "t", createTime: time, updateTime: time, queuedTime: time)
    _ = try await store.insert(job, idempotency: nil)
    if status != .pending {
      _ = try await store.mutate(jobID: job.id, idempotency: nil, now: time) { (job: inout Job) throws(KilnError) -> JobChange in
        job.move(to: status, at: time)
        return .update(.updated)
      }
    }
    let attempt = harness.logs.appendingPathComponent("\(job.id)/1", isDirectory: true)
    try FileManager.default.createDirectory(at: attempt, withIntermediateDirectories: true)
    try Data("log of \(job.id)\n".utf8).write(to: attempt.appendingPathComponent("0.log"))
    return job.id
  }

  func hasLogs(_ harness: EngineHarness, _ id: String) -> Bool {
    FileManager.default.fileExists(atPath: harness.logs.appendingPathComponent(id).path)
  }

  func retention(_ store: any JobStore, _ harness: EngineHarness, days: Double, batchSize: Int = 100) -> JobRetention {
    var logger = Logger(label: "kiln-test")
    logger.logLevel = .warning
    return JobRetention(
      store: store, stepLogs: StepLogDirectory(root: harness.logs), keepFor: .seconds(days * Self.day), interval: .seconds(3600),
      batchSize: batchSize, logger: logger)
  }

  @Test("deletes FINISHED and DISCARDED jobs older than the age with their logs, each with a deleted event; nothing else")
  func deletesOnlyExpiredEndedJobs() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let now = Date()
    let old = now.addingTimeInterval(-40 * Self.day)
    let recent = now.addingTimeInterval(-29 * Self.day)
    let oldFinished = try await makeJob(store, harness, .finished, at: old)
    let oldDiscarded = try await makeJob(store, harness, .discarded, at: old)
    var kept: [String] = []
    for status in [JobStatus.finished, .discarded] { kept.append(try await makeJob(store, harness, status, at: recent)) }
    for status in [JobStatus.pending, .running, .paused, .error] { kept.append(try await makeJob(store, harness, status, at: old)) }
    let before = try await store.currentRevision()

    // Batches of one: the sweep goes on until no expired job is left.
    let deleted = try await retention(store, harness, days: 30, batchSize: 1).sweep(now: now)

    #expect(deleted == 2)
    for id in [oldFinished, oldDiscarded] {
      #expect(try await store.job(id: id) == nil)
      #expect(!hasLogs(harness, id))
    }
    for id in kept {
      #expect(try await store.job(id: id) != nil)
      #expect(hasLogs(harness, id))
    }
    let events = try await store.events(after: before, limit: 100)
    #expect(events.map(\.kind) == [.deleted, .deleted])
    #expect(Set(events.map(\.job.id)) == [oldFinished, oldDiscarded])
    #expect(Set(events.compactMap(\.previousStatus)) == [.finished, .discarded])
    #expect(try await retention(store, harness, days: 30).sweep(now: now) == 0)
  }

  @Test("an age of 0 keeps every job forever")
  func zeroKeepsForever() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let ancient = Date().addingTimeInterval(-3650 * Self.day)
    let finished = try await makeJob(store, harness, .finished, at: ancient)
    let discarded = try await makeJob(store, harness, .discarded, at: ancient)
    let before = try await store.currentRevision()

    #expect(try await retention(store, harness, days: 0).sweep() == 0)

    #expect(try await store.job(id: finished) != nil)
    #expect(try await store.job(id: discarded) != nil)
    #expect(hasLogs(harness, finished) && hasLogs(harness, discarded))
    #expect(try await store.currentRevision() == before)
  }

  @Test("a sweep cut short after a batch's transaction is completed after a restart: rows and logs")
  func survivesRestartMidSweep() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let path = harness.directory.appendingPathComponent("kiln.sqlite").path
    let old = Date().addingTimeInterval(-40 * Self.day)
    var expired: [String] = []
    let recent: String
    let firstBatch: [String]
    do {
      let store = try await testStore(path: path)
      for _ in 0..<5 { expired.append(try await makeJob(store, harness, .finished, at: old)) }
      recent = try await makeJob(store, harness, .finished, at: Date())
      // The first batch's transaction commits, then the server dies before removing its logs.
      firstBatch = try await store.deleteJobs(
        statuses: JobRetention.statuses, updatedBefore: Date().addingTimeInterval(-30 * Self.day), limit: 2, now: Date())
    }
    #expect(firstBatch.count == 2)
    #expect(firstBatch.allSatisfy { hasLogs(harness, $0) })

    // The restarted server's retention service: orphaned logs first, then the rest of the sweep.
    let store = try await testStore(path: path)
    let service = retention(store, harness, days: 30, batchSize: 2)
    let group = ServiceGroup(services: [service], logger: Logger(label: "kiln-test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let swept = try await eventually {
        var allGone = true
        for id in expired where try await store.job(id: id) != nil || hasLogs(harness, id) { allGone = false }
        return allGone
      }
      #expect(swept)
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
    #expect(try await store.job(id: recent) != nil)
    #expect(hasLogs(harness, recent))
    let deletedEvents = try await store.events(after: 0, limit: 1000).filter { $0.kind == .deleted }
    #expect(Set(deletedEvents.map(\.job.id)) == Set(expired))
    #expect(deletedEvents.count == expired.count)
  }
}
