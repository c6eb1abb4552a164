import Foundation
import KilnCore
import Testing

@Suite("What an event means to a filtered watch", .timeLimit(.minutes(3)))
struct WatchChangeTests {
  func event(_ kind: JobEvent.Kind, _ status: JobStatus, from previous: JobStatus?, project: String = "p1") -> JobEvent {
    let job = Job(
      id: "j1", project: project, jobType: "T", subject: "s", status: status, submitter: "u",
      createTime: Date(timeIntervalSince1970: 0), updateTime: Date(timeIntervalSince1970: 0))
    return JobEvent(revision: 1, kind: kind, job: job, time: Date(), previousStatus: previous)
  }

  @Test("without a status filter: created, updated, deleted as they happened")
  func unfiltered() {
    let all = JobFilter()
    #expect(all.watchChange(for: event(.created, .pending, from: nil), includeProgress: false) == .created)
    #expect(all.watchChange(for: event(.updated, .running, from: .pending), includeProgress: false) == .updated)
    #expect(all.watchChange(for: event(.deleted, .finished, from: .finished), includeProgress: false) == .deleted)
  }

  @Test("progress-only changes only when asked for")
  func progress() {
    let all = JobFilter()
    #expect(all.watchChange(for: event(.progress, .running, from: .running), includeProgress: false) == nil)
    #expect(all.watchChange(for: event(.progress, .running, from: .running), includeProgress: true) == .updated)
  }

  @Test("a status filter turns entering and leaving the set into created and deleted")
  func enteringAndLeaving() {
    let running = JobFilter(statuses: [.running])
    #expect(running.watchChange(for: event(.created, .pending, from: nil), includeProgress: false) == nil)
    #expect(running.watchChange(for: event(.updated, .running, from: .pending), includeProgress: false) == .created)
    #expect(running.watchChange(for: event(.progress, .running, from: .running), includeProgress: true) == .updated)
    #expect(running.watchChange(for: event(.updated, .finished, from: .running), includeProgress: false) == .deleted)
    #expect(running.watchChange(for: event(.deleted, .finished, from: .finished), includeProgress: false) == nil)
  }

  @Test("other projects never concern the watcher")
  func otherProjects() {
    let mine = JobFilter(projects: ["p1"])
    for kind in [JobEvent.Kind.created, .updated, .progress, .deleted] {
      #expect(mine.watchChange(for: event(kind, .running, from: .pending, project: "p2"), includeProgress: true) == nil)
    }
  }
}
