import Foundation
import KilnCore
import KilnEngine
import KilnStore
import Testing

/// How a test changes the subject its jobs work on.
enum SubjectEdit: String, CaseIterable, CustomStringConvertible {
  case update, delete
  var description: String { rawValue }
}

@Suite("Subjects: a change or a deletion discards exactly the unfinished jobs on the subject", .timeLimit(.minutes(2)))
struct SubjectDiscardTests {
  @Test("every non-final status is discarded with the reason, the exec process group is gone, nothing else moves", arguments: SubjectEdit.allCases)
  func discardsUnfinishedJobs(edit: SubjectEdit) async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store, maxRunning: 8, perProject: 2)
    try await harness.running(engine) {
      _ = try await engine.createSubject(project: "p1", name: "model", schema: "id INT", caller: .system)
      // Final jobs on the subject: one finished, one discarded by an operator.
      let finished = try await harness.submit(engine, "QUICK", subject: "model")
      #expect(try await eventually { try await store.job(id: finished.id)?.status == .finished })
      let manual = try await harness.submit(engine, "SLEEPY", subject: "model")
      try await engine.perform(.discard, jobID: manual.id, caller: .system)
      // ERROR, then RUNNING (an exec step with a child in its process group).
      let failed = try await harness.submit(engine, "FAILING", subject: "model")
      #expect(try await eventually { try await store.job(id: failed.id)?.status == .error })
      let running = try await harness.submit(engine, "PIPE", subject: "model")
      #expect(await eventually { harness.pid("leader.pid") != nil && harness.pid("child.pid") != nil })
      let leader = try #require(harness.pid("leader.pid"))
      let child = try #require(harness.pid("child.pid"))
      // Another subject of p1 takes p1's second slot, so what follows stays PENDING.
      let otherSubject = try await harness.submit(engine, "REPORTER", subject: "other")
      #expect(try await eventually { try await store.job(id: otherSubject.id)?.status == .running })
      let pending = try await harness.submit(engine, "SLEEPY", subject: "model")
      let paused = try await harness.submit(engine, "SLEEPY", subject: "model")
      try await engine.perform(.pause, jobID: paused.id, caller: .system)
      // The same subject name in another project is another subject.
      let otherProject = try await harness.submit(engine, "REPORTER", project: "p2", subject: "model")
      #expect(try await eventually { try await store.job(id: otherProject.id)?.status == .running })
      #expect(try await store.job(id: pending.id)?.status == .pending)
      #expect(try await store.job(id: running.id)?.subjectVersion == 1)
      let revision = try await store.currentRevision()

      let change =
        switch edit {
        case .update: try await engine.updateSubject(project: "p1", name: "model", schema: "id BIGINT", caller: .system)
        case .delete: try await engine.deleteSubject(project: "p1", name: "model", caller: .system)
        }
      let reason = edit == .update ? "subject model changed from v1 to v2" : "subject model deleted"
      let unfinished = [failed.id, running.id, pending.id, paused.id]
      #expect(change.discardedJobIDs.sorted() == unfinished.sorted())
      #expect(change.subject?.version == (edit == .update ? 2 : nil))
      for id in unfinished {
        let job = try #require(try await store.job(id: id))
        #expect(job.status == .discarded, "\(id)")
        #expect(job.statusReason == reason)
        #expect(job.steps.allSatisfy { $0.status == .finished || $0.status == .discarded || $0.status == .error })
      }
      // The events carry the reason, each job's at one revision of the change.
      let events = try await store.events(after: revision, limit: 100).filter { unfinished.contains($0.job.id) }
      #expect(Set(events.map(\.job.id)) == Set(unfinished))
      #expect(events.allSatisfy { $0.job.status == .discarded && $0.job.statusReason == reason })
      #expect(Set(events.compactMap(\.previousStatus)) == [.error, .running, .pending, .paused])

      // The running step's process group is stopped, as a manual discard stops it.
      #expect(await eventually { !isAlive(leader) && !isAlive(child) }, "leader \(leader) or child \(child) still runs")
      #expect(try await store.job(id: finished.id)?.status == .finished)
      #expect(try await store.job(id: manual.id)?.statusReason == nil)
      #expect(try await store.job(id: otherSubject.id)?.status == .running)
      #expect(try await store.job(id: otherProject.id)?.status == .running)

      // A discarded job cannot be brought back: its subject version is gone.
      for action in [JobAction.restart, .resume] {
        let refusal = await #expect(throws: KilnError.self) { try await engine.perform(action, jobID: paused.id, caller: .system) }
        #expect(refusal?.code == .failedPrecondition)
        #expect(refusal?.message.contains("submit a new job") == true, "\(refusal?.message ?? "")")
        #expect(refusal?.message.contains(reason) == true)
      }

      switch edit {
      case .update:
        // A job submitted after the change runs against the new version.
        try await engine.perform(.discard, jobID: otherSubject.id, caller: .system)
        let next = try await harness.submit(engine, "QUICK", subject: "model")
        #expect(next.subjectVersion == 2)
        #expect(try await eventually { try await store.job(id: next.id)?.status == .finished })
      case .delete:
        let refused = await #expect(throws: KilnError.self) {
          try await engine.submit(.init(project: "p1", jobType: "SLEEPY", subject: "model"), caller: .system)
        }
        #expect(refused?.code == .notFound)
        #expect(refused?.message == "subject model not found in project p1")
      }
    }
  }

  @Test("an update that changes nothing keeps the version and discards nothing")
  func noOpUpdate() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store, maxRunning: 8, perProject: 8)
    try await harness.running(engine) {
      _ = try await engine.createSubject(project: "p1", name: "model", schema: "id INT", attributes: ["owner": "ana"], caller: .system)
      let job = try await harness.submit(engine, "REPORTER", subject: "model")
      // Running, with the one progress report the step makes written: from here on the
      // job changes only if the update discards it.
      #expect(try await eventually { try await store.job(id: job.id)?.steps[0].progress == 40 })
      let revision = try await store.currentRevision()
      let same = try await engine.updateSubject(
        project: "p1", name: "model", schema: "id INT", setAttributes: ["owner": "ana"], removeAttributes: ["absent"], caller: .system)
      #expect(same.discardedJobIDs.isEmpty)
      #expect(same.subject?.version == 1)
      #expect(try await store.job(id: job.id)?.status == .running)
      #expect(try await store.currentRevision() == revision)

      // Attributes count as the schema does.
      let changed = try await engine.updateSubject(project: "p1", name: "model", removeAttributes: ["owner"], caller: .system)
      #expect(changed.subject?.version == 2)
      #expect(changed.subject?.attributes == [:])
      #expect(changed.discardedJobIDs == [job.id])
      try await engine.perform(.delete, jobID: job.id, caller: .system)
    }
  }

  @Test("a subject that does not exist refuses the submission, and nothing is created")
  func missingSubject() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store)
    let revision = try await store.currentRevision()
    let error = await #expect(throws: KilnError.self) {
      try await engine.submit(.init(project: "p1", jobType: "SLEEPY", subject: "nothing"), caller: .system)
    }
    #expect(error?.code == .notFound)
    #expect(error?.message == "subject nothing not found in project p1")
    #expect(try await store.currentRevision() == revision)
    #expect(try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 10, after: nil).jobs.isEmpty)
  }
}

@Suite("Subjects under concurrent submissions", .timeLimit(.minutes(2)))
struct SubjectRaceTests {
  @Test("no job escapes a subject change: every job on the old version ends discarded, none on the new one is touched")
  func submissionsRacingUpdates() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let store = try await testStore()
    let engine = try harness.makeEngine(store: store, maxRunning: 4, perProject: 4)
    try await harness.running(engine) {
      _ = try await engine.createSubject(project: "p1", name: "hot", schema: "v0", caller: .system)
      // Submitters and an editor run at once; the store's transactions decide the order.
      let submitted = try await withThrowingTaskGroup(of: [Job].self) { group in
        for _ in 0..<4 {
          group.addTask {
            var jobs: [Job] = []
            for _ in 0..<25 {
              jobs.append(
                try await engine.submit(
                  .init(project: "p1", jobType: "SLEEPY", subject: "hot"), caller: Caller(name: "t", isAdmin: true)))
            }
            return jobs
          }
        }
        group.addTask {
          for round in 1...10 {
            _ = try await engine.updateSubject(project: "p1", name: "hot", schema: "v\(round)", caller: .system)
          }
          return []
        }
        var all: [Job] = []
        for try await jobs in group { all += jobs }
        return all
      }
      #expect(submitted.count == 100)
      let current = try await engine.subject(project: "p1", name: "hot", caller: .system).version
      #expect(current == 11)
      for job in submitted {
        let now = try #require(try await store.job(id: job.id))
        if now.subjectVersion < current {
          // Submitted against a version that was replaced: discarded by the change, or
          // finished before it (SLEEPY takes 400 ms, so rarely).
          #expect(now.status == .discarded || now.status == .finished, "\(now.id) v\(now.subjectVersion) is \(now.status)")
          if now.status == .discarded {
            #expect(now.statusReason?.hasPrefix("subject hot changed from v\(now.subjectVersion) ") == true)
          }
        } else {
          #expect(now.statusReason == nil, "a job on the current version is never discarded by a change")
        }
      }
    }
  }
}
