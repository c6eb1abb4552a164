import Foundation
import KilnCore
import Testing

@Suite("The status × operation table", .timeLimit(.minutes(3)))
struct JobTransitionsTests {
  /// The table from DESIGN.md, written out independently of the implementation:
  /// status → (action → resulting status); a missing action is refused. Delete leads to nil.
  static let expected: [JobStatus: [JobAction: JobStatus?]] = [
    .pending: [.pause: .paused, .discard: .discarded],
    .running: [.pause: .paused, .restart: .pending, .discard: .discarded],
    .paused: [.resume: .pending, .restart: .pending, .discard: .discarded],
    .error: [.resume: .pending, .restart: .pending, .discard: .discarded],
    .finished: [.delete: Optional<JobStatus>.none],
    .discarded: [.delete: Optional<JobStatus>.none],
  ]

  @Test("every status with every operation", arguments: JobStatus.allCases, JobAction.allCases)
  func everyPair(status: JobStatus, action: JobAction) throws {
    let row = try #require(Self.expected[status])
    if let outcome = row[action] {
      #expect(JobTransitions.isAllowed(action, from: status))
      let result = try JobTransitions.apply(action, to: status, jobID: "j1")
      #expect(result == outcome)
    } else {
      #expect(!JobTransitions.isAllowed(action, from: status))
      let error = #expect(throws: KilnError.self) { try JobTransitions.apply(action, to: status, jobID: "j1") }
      #expect(error?.code == .failedPrecondition)
      #expect(error?.message.contains(status.rawValue) == true)
      #expect(error?.message.contains(action.verb) == true)
      let allowed = JobTransitions.allowedActions(for: status).map(\.verb).joined(separator: ", ")
      #expect(error?.message.hasSuffix("allows: \(allowed)") == true)
    }
  }

  @Test("allowed actions list exactly the table's row", arguments: JobStatus.allCases)
  func allowedActions(status: JobStatus) throws {
    let row = try #require(Self.expected[status])
    #expect(Set(JobTransitions.allowedActions(for: status)) == Set(row.keys))
  }

  @Test("engine moves apply only from their source status")
  func engineMoves() {
    for status in JobStatus.allCases {
      #expect(JobTransitions.apply(.start, to: status) == (status == .pending ? .running : nil))
      #expect(JobTransitions.apply(.finish, to: status) == (status == .running ? .finished : nil))
      #expect(JobTransitions.apply(.fail, to: status) == (status == .running ? .error : nil))
      #expect(JobTransitions.apply(.recover, to: status) == (status == .running ? .pending : nil))
      #expect(JobTransitions.apply(.systemDiscard, to: status) == (status.isFinal ? nil : .discarded))
    }
  }

  @Test("final statuses are exactly FINISHED and DISCARDED")
  func finalStatuses() {
    #expect(Set(JobStatus.allCases.filter(\.isFinal)) == [.finished, .discarded])
  }
}

@Suite("Applying actions to a job", .timeLimit(.minutes(3)))
struct JobApplyTests {
  static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

  func job(status: JobStatus, stepStatuses: [JobStatus]) -> Job {
    var job = Job(
      id: "j1", project: "p", jobType: "T", subject: "s", status: status,
      steps: stepStatuses.enumerated().map { Step(name: "S\($0)", index: $0, status: $1) }, submitter: "u",
      createTime: Self.t0, updateTime: Self.t0)
    if status == .running { job.runningSince = Self.t0 }
    if status == .pending { job.queuedTime = Self.t0 }
    return job
  }

  @Test("pause of a running job pauses the running step and keeps finished ones")
  func pauseRunning() throws {
    var job = job(status: .running, stepStatuses: [.finished, .running, .pending])
    try job.apply(.pause, at: Self.t0.addingTimeInterval(2))
    #expect(job.status == .paused)
    #expect(job.steps.map(\.status) == [.finished, .paused, .pending])
    #expect(job.durationMillis == 2000)
    #expect(job.runningSince == nil)
    #expect(job.firstUnfinishedStepIndex == 1)
  }

  @Test("resume clears the error and requeues unfinished steps only")
  func resumeError() throws {
    var job = job(status: .error, stepStatuses: [.finished, .error, .pending])
    job.errorMessage = "boom"
    job.steps[1].retries = 2
    try job.apply(.resume, at: Self.t0)
    #expect(job.status == .pending)
    #expect(job.errorMessage == nil)
    #expect(job.steps.map(\.status) == [.finished, .pending, .pending])
    #expect(job.steps[1].retries == 0)
    #expect(job.queuedTime == Self.t0)
  }

  @Test("restart resets every step and the timings, and counts the attempt")
  func restart() throws {
    var job = job(status: .running, stepStatuses: [.finished, .running])
    job.startTime = Self.t0
    job.waitMillis = 500
    job.durationMillis = 700
    job.steps[0].progress = 100
    try job.apply(.restart, at: Self.t0.addingTimeInterval(1))
    #expect(job.status == .pending)
    #expect(job.attempt == 2)
    #expect(job.steps.allSatisfy { $0.status == .pending && $0.progress == 0 && $0.startTime == nil })
    #expect(job.waitMillis == 0 && job.durationMillis == 0 && job.startTime == nil && job.endTime == nil)
    #expect(job.progress == 0)
  }

  @Test("discard stops every unfinished step and sets the end time")
  func discard() throws {
    var job = job(status: .pending, stepStatuses: [.finished, .pending])
    try job.apply(.discard, at: Self.t0.addingTimeInterval(3))
    #expect(job.status == .discarded)
    #expect(job.steps.map(\.status) == [.finished, .discarded])
    #expect(job.endTime == Self.t0.addingTimeInterval(3))
    #expect(job.waitMillis == 3000)
  }

  @Test("a refused action changes nothing")
  func refusedChangesNothing() {
    var job = job(status: .finished, stepStatuses: [.finished])
    let before = job
    #expect(throws: KilnError.self) { try job.apply(.resume, at: Self.t0) }
    #expect(job == before)
  }
}
