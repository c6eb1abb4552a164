import Foundation
import GRPCCore
import KilnProto
import SwiftProtobuf
import KilnTestSupport
import Testing

/// Every RPC of kiln.v1.JobService over real HTTP/2 on 127.0.0.1.
@Suite("JobService end to end over HTTP/2", .timeLimit(.minutes(3)))
struct JobServiceTests {
  static let long = ["sleep_ms": "600000"]

  @Test("SubmitJob then GetJob: the job runs to FINISHED with its steps and timings")
  func submitAndFinish() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let job = try await jobs.submit(params: ["sleep_ms": "20", "owner": "ana"])
      #expect(job.status == .pending)
      #expect(job.project == "p1" && job.jobType == "INDEX_BUILD" && job.subject == "sales")
      #expect(job.submitter == "admin")
      #expect(job.attempt == 1)
      #expect(job.params["owner"] == "ana")
      #expect(job.steps.map(\.name) == ["DETECT_RESOURCE", "LOAD_DATA", "BUILD_INDEX", "UPDATE_METADATA"])
      #expect(job.steps.map(\.id) == (0..<4).map { "\(job.id)-\($0)" })
      #expect(job.allowedActions == [.pause, .discard])
      #expect(job.revision > 0)
      #expect(try await jobs.waitFor(job.id, .finished))
      let done = try await jobs.get(job.id)
      #expect(done.progress == 100)
      #expect(done.steps.allSatisfy { $0.status == .finished && $0.progress == 100 && $0.hasStartTime && $0.hasEndTime })
      #expect(done.hasStartTime && done.hasEndTime)
      #expect(done.revision > job.revision)
      #expect(done.allowedActions == [.delete])
    }
  }

  @Test("SubmitJob refuses bad input with INVALID_ARGUMENT naming the field")
  func submitErrors() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      await expectRPCError(.invalidArgument, mentioning: "project") { _ = try await jobs.submit(project: "") }
      await expectRPCError(.invalidArgument, mentioning: "job_type") { _ = try await jobs.submit(type: "") }
      await expectRPCError(.invalidArgument, mentioning: "unknown job type NOPE") { _ = try await jobs.submit(type: "NOPE") }
      await expectRPCError(.invalidArgument, mentioning: "subject") { _ = try await jobs.submit(subject: "") }
      let list = try await jobs.listJobs(.init())
      #expect(list.totalSize == 0, "a refused request creates nothing")
    }
  }

  @Test("GetJob: unknown id is NOT_FOUND, empty id is INVALID_ARGUMENT")
  func getErrors() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      await expectRPCError(.notFound, mentioning: "job nope not found") { _ = try await jobs.get("nope") }
      await expectRPCError(.invalidArgument, mentioning: "id") { _ = try await jobs.get("") }
    }
  }

  @Test("every operation of the table over the wire: pause, resume, restart, discard, delete")
  func operations() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      // The first job holds the only slot, so the second stays PENDING.
      let running = try await jobs.submit(params: Self.long)
      #expect(try await jobs.waitFor(running.id, .running))
      let pending = try await jobs.submit(params: Self.long)
      #expect(try await jobs.get(pending.id).status == .pending)

      // PENDING: pause and discard.
      let pausedPending = try await jobs.pauseJob(.with { $0.id = pending.id }).job
      #expect(pausedPending.status == .paused)
      #expect(pausedPending.allowedActions == [.resume, .restart, .discard])
      #expect(try await jobs.resumeJob(.with { $0.id = pending.id }).job.status == .pending)

      // RUNNING: pause, then resume.
      let paused = try await jobs.pauseJob(.with { $0.id = running.id }).job
      #expect(paused.status == .paused)
      #expect(paused.steps[0].status == .paused)
      // Its slot was freed: the other job starts.
      #expect(try await jobs.waitFor(pending.id, .running))
      let resumed = try await jobs.resumeJob(.with { $0.id = running.id }).job
      #expect(resumed.status == .pending)

      // RUNNING: restart.
      let restarted = try await jobs.restartJob(.with { $0.id = pending.id }).job
      #expect(restarted.status == .pending)
      #expect(restarted.attempt == 2)
      #expect(restarted.steps.allSatisfy { $0.status == .pending })

      // Discard both; then delete.
      #expect(try await jobs.discardJob(.with { $0.id = running.id }).job.status == .discarded)
      #expect(try await jobs.discardJob(.with { $0.id = pending.id }).job.status == .discarded)
      _ = try await jobs.deleteJob(.with { $0.id = running.id })
      await expectRPCError(.notFound, mentioning: running.id) { _ = try await jobs.get(running.id) }
    }
  }

  @Test("an operation the status does not allow is FAILED_PRECONDITION naming the status, and changes nothing")
  func refusedOperations() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let job = try await jobs.submit()
      #expect(try await jobs.waitFor(job.id, .finished))
      let before = try await jobs.get(job.id)
      await expectRPCError(.failedPrecondition, mentioning: "its status is FINISHED, which allows: delete") {
        _ = try await jobs.pauseJob(.with { $0.id = job.id })
      }
      await expectRPCError(.failedPrecondition, mentioning: "cannot resume") {
        _ = try await jobs.resumeJob(.with { $0.id = job.id })
      }
      await expectRPCError(.failedPrecondition, mentioning: "cannot restart") {
        _ = try await jobs.restartJob(.with { $0.id = job.id })
      }
      await expectRPCError(.failedPrecondition, mentioning: "cannot discard") {
        _ = try await jobs.discardJob(.with { $0.id = job.id })
      }
      let running = try await jobs.submit(params: Self.long)
      await expectRPCError(.failedPrecondition, mentioning: "cannot delete job \(running.id): its status is") {
        _ = try await jobs.deleteJob(.with { $0.id = running.id })
      }
      let after = try await jobs.get(job.id)
      #expect(after.revision == before.revision)
      #expect(after.status == .finished)
      for call in ["pause", "resume", "restart", "discard", "delete"] {
        await expectRPCError(.notFound, mentioning: "not found") {
          switch call {
          case "pause": _ = try await jobs.pauseJob(.with { $0.id = "missing" })
          case "resume": _ = try await jobs.resumeJob(.with { $0.id = "missing" })
          case "restart": _ = try await jobs.restartJob(.with { $0.id = "missing" })
          case "discard": _ = try await jobs.discardJob(.with { $0.id = "missing" })
          default: _ = try await jobs.deleteJob(.with { $0.id = "missing" })
          }
        }
      }
      await expectRPCError(.invalidArgument, mentioning: "id") { _ = try await jobs.pauseJob(.init()) }
    }
  }

  @Test("expected_revision: a stale revision is ABORTED and changes nothing; the current one applies")
  func expectedRevision() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      _ = try await jobs.submit(params: Self.long)
      let job = try await jobs.submit(params: Self.long)
      let current = try await jobs.get(job.id)
      await expectRPCError(.aborted, mentioning: "not the expected revision \(current.revision - 1)") {
        _ = try await jobs.pauseJob(.with {
          $0.id = job.id
          $0.expectedRevision = current.revision - 1
        })
      }
      #expect(try await jobs.get(job.id).revision == current.revision)
      let paused = try await jobs.pauseJob(.with {
        $0.id = job.id
        $0.expectedRevision = current.revision
      }).job
      #expect(paused.status == .paused)
    }
  }

  @Test("a repeated request_id returns the first result and acts once; other content is INVALID_ARGUMENT")
  func idempotentRetries() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      let first = try await jobs.submit(params: Self.long, requestID: "submit-1")
      let again = try await jobs.submit(params: Self.long, requestID: "submit-1")
      #expect(again.id == first.id)
      #expect(try await jobs.listJobs(.init()).totalSize == 1)
      await expectRPCError(.invalidArgument, mentioning: "request_id") {
        _ = try await jobs.submit(subject: "other", params: Self.long, requestID: "submit-1")
      }

      let pause = Kiln_V1_PauseJobRequest.with {
        $0.id = first.id
        $0.requestID = "pause-1"
      }
      let paused = try await jobs.pauseJob(pause).job
      // Without the request id a second pause would be refused (PAUSED allows no pause).
      let repeated = try await jobs.pauseJob(pause).job
      #expect(repeated == paused)
      await expectRPCError(.failedPrecondition, mentioning: "PAUSED") {
        _ = try await jobs.pauseJob(.with { $0.id = first.id })
      }
      // The same id on another method is other content.
      await expectRPCError(.invalidArgument, mentioning: "request_id") {
        _ = try await jobs.resumeJob(.with {
          $0.id = first.id
          $0.requestID = "pause-1"
        })
      }
      let delete = Kiln_V1_DeleteJobRequest.with {
        $0.id = first.id
        $0.requestID = "delete-1"
      }
      _ = try await jobs.discardJob(.with { $0.id = first.id })
      _ = try await jobs.deleteJob(delete)
      _ = try await jobs.deleteJob(delete)
    }
  }

  @Test("ListJobTypes lists the built-in types with their steps")
  func jobTypes() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let types = try await jobs.listJobTypes(.init()).jobTypes
      #expect(types.map(\.name).contains("INDEX_BUILD"))
      #expect(types.count == 6)
      let snapshot = try #require(types.first { $0.name == "SNAPSHOT_BUILD" })
      #expect(snapshot.steps.map(\.name) == ["BUILD_SNAPSHOT", "UPDATE_METADATA"])
      #expect(snapshot.steps.allSatisfy { $0.kind == "sleep" })
    }
  }

  @Test("GetStepLog reads a step's log in chunks; errors name the problem")
  func stepLog() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      let job = try await jobs.submit()
      #expect(try await jobs.waitFor(job.id, .finished))
      let whole = try await jobs.getStepLog(.with {
        $0.jobID = job.id
        $0.stepID = "\(job.id)-1"
      })
      let text = String(decoding: whole.data, as: UTF8.self)
      #expect(text.contains("LOAD_DATA: 100%"))
      #expect(whole.complete)
      #expect(whole.nextOffset == Int64(whole.data.count))

      var collected = Data()
      var offset: Int64 = 0
      while true {
        let chunk = try await jobs.getStepLog(.with {
          $0.jobID = job.id
          $0.stepID = "LOAD_DATA"
          $0.offset = offset
          $0.limit = 7
        })
        collected.append(chunk.data)
        offset = chunk.nextOffset
        if chunk.complete { break }
      }
      #expect(collected == whole.data)

      await expectRPCError(.notFound, mentioning: "no step 9") {
        _ = try await jobs.getStepLog(.with {
          $0.jobID = job.id
          $0.stepID = "9"
        })
      }
      await expectRPCError(.outOfRange, mentioning: "offset") {
        _ = try await jobs.getStepLog(.with {
          $0.jobID = job.id
          $0.stepID = "1"
          $0.offset = 1 << 40
        })
      }
      await expectRPCError(.invalidArgument, mentioning: "offset") {
        _ = try await jobs.getStepLog(.with {
          $0.jobID = job.id
          $0.stepID = "1"
          $0.offset = -1
        })
      }
      await expectRPCError(.invalidArgument, mentioning: "step_id") {
        _ = try await jobs.getStepLog(.with { $0.jobID = job.id })
      }
      await expectRPCError(.notFound, mentioning: "not found") {
        _ = try await jobs.getStepLog(.with {
          $0.jobID = "missing"
          $0.stepID = "0"
        })
      }
    }
  }
}
