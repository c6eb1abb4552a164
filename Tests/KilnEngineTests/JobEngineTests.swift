import Foundation
import KilnCore
import KilnEngine
import KilnStore
import Testing

@Suite("The engine with real processes", .serialized, .timeLimit(.minutes(5)))
struct JobEngineTests {
  @Test("a job runs its exec step to FINISHED, with its output in the step log and progress reported")
  func runsToFinished() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store)
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "QUICK")
      #expect(job.status == .pending)
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .finished })
      let done = try await engine.job(id: job.id, caller: .system)
      #expect(done.progress == 100)
      #expect(done.steps[0].status == .finished)
      #expect(done.startTime != nil && done.endTime != nil)
      #expect(harness.lines("quick").count == 1)
      let log = try await engine.readStepLog(jobID: job.id, step: "0", offset: 0, limit: 1 << 20, caller: .system)
      let text = String(decoding: log.data, as: UTF8.self)
      #expect(text.contains("hello from ONLY arg=\(harness.directory.path)"))
      #expect(text.contains("to stderr"))
      #expect(log.complete)
      let events = try await store.events(after: 0, limit: 1000).filter { $0.job.id == job.id }
      #expect(events.map(\.job.status).last == .finished)
    }
  }

  @Test("progress written to KILN_PROGRESS_FD reaches the job as a progress event")
  func progressChannel() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store)
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "REPORTER")
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).steps[0].progress == 40 })
      #expect(try await engine.job(id: job.id, caller: .system).progress == 40)
      let events = try await store.events(after: 0, limit: 1000).filter { $0.job.id == job.id }
      #expect(events.contains { $0.kind == .progress && $0.job.steps[0].progress == 40 })
      try Data().write(to: harness.directory.appendingPathComponent("release"))
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .finished })
    }
  }

  @Test("a failing exec step is retried, then the job goes to ERROR with the step's error")
  func failsAfterRetries() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "FAILING")
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .error })
      let failed = try await engine.job(id: job.id, caller: .system)
      #expect(harness.lines("failures").count == 3)
      #expect(failed.steps[0].retries == 2)
      #expect(failed.steps[0].status == .error)
      #expect(failed.errorMessage?.contains("step FAIL failed") == true)
      #expect(failed.errorMessage?.contains("exited with status 3") == true)
      #expect(failed.allowedActions == [.resume, .restart, .discard])
    }
  }

  @Test("pause stops the step's whole process group; resume does not re-run finished steps")
  func pauseAndResume() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "PIPE")
      #expect(await eventually { harness.pid("leader.pid") != nil && harness.pid("child.pid") != nil })
      let leader = try #require(harness.pid("leader.pid"))
      let child = try #require(harness.pid("child.pid"))
      #expect(isAlive(leader) && isAlive(child))

      let paused = try #require(try await engine.perform(.pause, jobID: job.id, caller: .system))
      #expect(paused.status == .paused)
      #expect(paused.steps.map(\.status) == [.finished, .paused, .pending])
      #expect(await eventually { !isAlive(leader) && !isAlive(child) })
      // Not a wait for a state: nothing may start the paused job again meanwhile.
      try await Task.sleep(for: .milliseconds(200))
      #expect(try await engine.job(id: job.id, caller: .system).status == .paused)

      try FileManager.default.removeItem(atPath: harness.path("leader.pid"))
      try Data().write(to: harness.directory.appendingPathComponent("release"))
      let resumed = try #require(try await engine.perform(.resume, jobID: job.id, caller: .system))
      #expect(resumed.status == .pending)
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .finished })
      #expect(harness.lines("first").count == 1)
      #expect(harness.lines("third").count == 1)
      #expect(harness.pid("leader.pid") != nil)
    }
  }

  @Test("a step that ignores SIGTERM is killed after the grace period")
  func killAfterGrace() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "STUBBORN")
      #expect(await eventually { harness.pid("stubborn.pid") != nil })
      let pid = try #require(harness.pid("stubborn.pid"))
      _ = try await engine.perform(.discard, jobID: job.id, caller: .system)
      #expect(await eventually { !isAlive(pid) })
      #expect(try await engine.job(id: job.id, caller: .system).status == .discarded)
    }
  }

  @Test("restart of a running job stops it, resets every step, and runs attempt 2 from the first step")
  func restart() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "PIPE")
      #expect(await eventually { harness.pid("leader.pid") != nil })
      let leader = try #require(harness.pid("leader.pid"))
      let firstLog = harness.logs.appendingPathComponent("\(job.id)/1/0.log").path
      #expect(FileManager.default.fileExists(atPath: firstLog))

      let restarted = try #require(try await engine.perform(.restart, jobID: job.id, caller: .system))
      #expect(restarted.attempt == 2)
      #expect(restarted.status == .pending)
      #expect(restarted.steps.allSatisfy { $0.status == .pending || $0.status == .running })
      #expect(await eventually { !isAlive(leader) })
      #expect(!FileManager.default.fileExists(atPath: firstLog))

      try Data().write(to: harness.directory.appendingPathComponent("release"))
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .finished })
      let done = try await engine.job(id: job.id, caller: .system)
      #expect(done.attempt == 2)
      #expect(harness.lines("first").count == 2)
      #expect(harness.lines("third").count == 1)
      #expect(FileManager.default.fileExists(atPath: harness.logs.appendingPathComponent("\(job.id)/2/0.log").path))
    }
  }

  @Test("discard stops a running job for good; delete removes it and its logs")
  func discardAndDelete() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "PIPE")
      #expect(await eventually { harness.pid("leader.pid") != nil })
      let leader = try #require(harness.pid("leader.pid"))
      let discarded = try #require(try await engine.perform(.discard, jobID: job.id, caller: .system))
      #expect(discarded.status == .discarded)
      #expect(discarded.steps.map(\.status) == [.finished, .discarded, .discarded])
      #expect(discarded.endTime != nil)
      #expect(await eventually { !isAlive(leader) })

      let refused = await #expect(throws: KilnError.self) { try await engine.perform(.resume, jobID: job.id, caller: .system) }
      #expect(refused?.code == .failedPrecondition)

      #expect(try await engine.perform(.delete, jobID: job.id, caller: .system) == nil)
      let missing = await #expect(throws: KilnError.self) { try await engine.job(id: job.id, caller: .system) }
      #expect(missing?.code == .notFound)
      #expect(!FileManager.default.fileExists(atPath: harness.logs.appendingPathComponent(job.id).path))
    }
  }

  @Test("the global and per-project limits hold, and every job still finishes")
  func concurrencyLimits() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store, maxRunning: 3, perProject: 2)
    try await harness.running(engine) {
      var ids: [String] = []
      for i in 0..<8 {
        ids.append(try await harness.submit(engine, "SLEEPY", project: i < 5 ? "a" : "b").id)
      }
      var maxRunning = 0
      var maxPerProject = 0
      let allDone = try await eventually(30) {
        let running = try await store.listJobs(
          filter: JobFilter(statuses: [.running]), order: JobOrder(), limit: 100, after: nil
        ).jobs
        maxRunning = max(maxRunning, running.count)
        maxPerProject = max(maxPerProject, Dictionary(grouping: running, by: \.project).values.map(\.count).max() ?? 0)
        return try await store.listJobs(
          filter: JobFilter(statuses: [.finished]), order: JobOrder(), limit: 100, after: nil
        ).totalCount == ids.count
      }
      #expect(allDone)
      #expect(maxRunning <= 3)
      #expect(maxPerProject <= 2)
      // The event log agrees, at every revision: never more than 3 running, never more
      // than 2 of one project; and jobs did run side by side.
      var running: [String: String] = [:]
      var mostAtOnce = 0
      for event in try await store.events(after: 0, limit: 10_000) {
        if event.job.status == .running { running[event.job.id] = event.job.project } else { running[event.job.id] = nil }
        #expect(running.count <= 3)
        #expect(Dictionary(grouping: running.values, by: { $0 }).values.allSatisfy { $0.count <= 2 })
        mostAtOnce = max(mostAtOnce, running.count)
      }
      #expect(mostAtOnce >= 2, "the scheduler ran jobs side by side")
    }
  }

  @Test("jobs that were RUNNING when the server died continue at their first unfinished step")
  func recovery() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let path = harness.directory.appendingPathComponent("kiln.sqlite").path
    var jobID = ""
    do {
      // First life: the job gets past its first step, into the long one.
      let engine = try harness.makeEngine(store: try await testStore(path: path))
      try await harness.running(engine) {
        jobID = try await harness.submit(engine, "PIPE").id
        #expect(await eventually { harness.pid("leader.pid") != nil })
      }
    }
    // The shutdown requeued it; a crash would have left it RUNNING: make it so.
    let store = try await testStore(path: path)
    _ = try await store.mutate(jobID: jobID, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
      job.move(to: .running, at: .kilnNow())
      job.steps[1].status = .running
      return .update(.updated)
    }
    #expect(try await store.job(id: jobID)?.status == .running)

    try Data().write(to: harness.directory.appendingPathComponent("release"))
    let engine = try harness.makeEngine(store: store)
    let finished = try await harness.running(engine) {
      try await eventually { try await engine.job(id: jobID, caller: .system).status == .finished }
    }
    #expect(finished)
    #expect(harness.lines("first").count == 1)
    #expect(harness.lines("third").count == 1)
    let events = try await store.events(after: 0, limit: 1000).filter { $0.job.id == jobID }
    #expect(events.contains { $0.job.status == .pending && $0.revision > 1 }, "requeued with an event")
  }

  @Test("graceful shutdown stops running steps and leaves their jobs PENDING, resumable")
  func shutdownRequeues() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store)
    var jobID = ""
    try await harness.running(engine) {
      jobID = try await harness.submit(engine, "PIPE").id
      #expect(await eventually { harness.pid("leader.pid") != nil })
    }
    let leader = try #require(harness.pid("leader.pid"))
    #expect(!isAlive(leader))
    let job = try #require(try await store.job(id: jobID))
    #expect(job.status == .pending)
    #expect(job.steps.map(\.status) == [.finished, .pending, .pending])
  }

  @Test("simulated sleep steps honour fail_step and fail_times, and retries recover")
  func sleepFailures() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let fails = try await harness.submit(engine, "SLEEPY", params: ["sleep_ms": "20", "fail_step": "NAP"])
      let recovers = try await harness.submit(
        engine, "SLEEPY", params: ["sleep_ms": "20", "fail_step": "NAP2", "fail_times": "1"])
      #expect(try await eventually { try await engine.job(id: fails.id, caller: .system).status == .error })
      #expect(try await eventually { try await engine.job(id: recovers.id, caller: .system).status == .finished })
      #expect(try await engine.job(id: recovers.id, caller: .system).steps[1].retries == 1)
      #expect(try await engine.job(id: fails.id, caller: .system).errorMessage?.contains("NAP") == true)
    }
  }

  @Test("submission errors name the field and create nothing")
  func submissionErrors() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store)
    let cases: [(JobEngine.Submission, String)] = [
      (.init(project: "", jobType: "QUICK", subject: "s", params: ["dir": "/tmp"]), "project"),
      (.init(project: "bad name", jobType: "QUICK", subject: "s", params: ["dir": "/tmp"]), "project"),
      (.init(project: "p", jobType: "NOPE", subject: "s"), "job_type"),
      (.init(project: "p", jobType: "QUICK", subject: ""), "subject"),
      (.init(project: "p", jobType: "QUICK", subject: "s"), "params.dir"),
    ]
    for (submission, field) in cases {
      let error = await #expect(throws: KilnError.self) { try await engine.submit(submission, caller: .system) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.message.hasPrefix(field) == true, "\(String(describing: error))")
    }
    #expect(try await store.currentRevision() == 0)
  }
}
