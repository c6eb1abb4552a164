import Foundation
import KilnCore
import KilnStore
import Testing

/// Subjects, and the subject change that discards the jobs on it in its own transaction
/// (rule 1 of ``JobStore``), for every store.
@Suite("Store contract: subjects", .timeLimit(.minutes(3)))
struct SubjectContractTests {
  @Test("a subject is created once, in an existing project, and listed by project then name", arguments: StoreUnderTest.all)
  func createAndList(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let subject = Subject(project: "b", name: "orders", createTime: .kilnNow(), creator: "test")
      try await store.createSubject(subject)
      let duplicate = await #expect(throws: KilnError.self) { try await store.createSubject(subject) }
      #expect(duplicate?.code == .alreadyExists)
      let missing = await #expect(throws: KilnError.self) {
        try await store.createSubject(Subject(project: "nowhere", name: "x", createTime: .kilnNow(), creator: "test"))
      }
      #expect(missing?.code == .notFound)
      let exists = try await store.projectExists("b")
      let nowhere = try await store.projectExists("nowhere")
      #expect(exists && !nowhere)
      #expect(try await store.subject(project: "b", name: "orders")?.name == "orders")
      #expect(try await store.subject(project: "c", name: "orders") == nil)
      let listed = try await store.subjects(inProjects: ["b", "c"]).map { "\($0.project)/\($0.name)" }
      #expect(listed == ["b/orders", "b/s", "c/s"])
      #expect(try await store.subjects(inProjects: []).isEmpty)
      #expect(try await store.subjects(inProjects: nil).count > listed.count)
    }
  }

  @Test("a subject change discards every unended job on it, with an event each, in the same transaction", arguments: StoreUnderTest.all)
  func changeDiscards(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      var onSubject: [String] = []
      for status in [JobStatus.pending, .running, .paused, .error, .finished] {
        let id = try #require(try await store.insert(makeJob(project: "p1", subject: "orders"), idempotency: nil).job).id
        if status != .pending { try await move(store, id, to: status) }
        onSubject.append(id)
      }
      let elsewhere = try #require(try await store.insert(makeJob(project: "p1", subject: "users"), idempotency: nil).job).id
      let before = try await store.currentRevision()
      let (subject, discarded) = try await store.changeSubject(project: "p1", name: "orders", now: .kilnNow()) {
        (subject: inout Subject) throws(KilnError) -> SubjectWrite in
        subject.schema = "v2"
        subject.version += 1
        return .update(discardReason: "subject orders changed")
      } discard: { job, reason in
        _ = job.discardAutomatically(reason: reason, at: .kilnNow())
      }
      #expect(subject?.schema == "v2")
      #expect(Set(discarded.map(\.id)) == Set(onSubject.prefix(4)), "the FINISHED job stays as it is")
      #expect(discarded.allSatisfy { $0.status == .discarded && $0.statusReason == "subject orders changed" })
      let events = try await store.events(after: before, limit: 100)
      #expect(events.map(\.revision) == Array((before + 1)...(before + 4)))
      #expect(Set(events.map(\.job.id)) == Set(onSubject.prefix(4)))
      #expect(try await store.job(id: elsewhere)?.status == .pending)
      #expect(try await store.job(id: onSubject[4])?.status == .finished)
    }
  }

  @Test("a subject change that throws, or keeps the jobs, discards nothing", arguments: StoreUnderTest.all)
  func refusedChange(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let id = try #require(try await store.insert(makeJob(project: "p1", subject: "orders"), idempotency: nil).job).id
      let before = try await store.currentRevision()
      await #expect(throws: KilnError.self) {
        _ = try await store.changeSubject(project: "p1", name: "orders", now: .kilnNow()) {
          (subject: inout Subject) throws(KilnError) -> SubjectWrite in
          subject.schema = "half-way"
          throw KilnError(code: .failedPrecondition, message: "version mismatch")
        } discard: { job, reason in
          _ = job.discardAutomatically(reason: reason, at: .kilnNow())
        }
      }
      #expect(try await store.subject(project: "p1", name: "orders")?.schema == "")
      let kept = try await store.changeSubject(project: "p1", name: "orders", now: .kilnNow()) {
        (subject: inout Subject) throws(KilnError) -> SubjectWrite in
        subject.attributes = ["owner": "sales"]
        return .update(discardReason: nil)
      } discard: { job, reason in
        _ = job.discardAutomatically(reason: reason, at: .kilnNow())
      }
      #expect(kept.discarded.isEmpty && kept.subject?.attributes == ["owner": "sales"])
      #expect(try await store.job(id: id)?.status == .pending)
      #expect(try await store.currentRevision() == before)
    }
  }

  @Test("deleting a subject discards its jobs; an unknown subject or project is NOT_FOUND", arguments: StoreUnderTest.all)
  func deleteSubject(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let id = try #require(try await store.insert(makeJob(project: "p1", subject: "users"), idempotency: nil).job).id
      let (subject, discarded) = try await store.changeSubject(project: "p1", name: "users", now: .kilnNow()) {
        (_: inout Subject) throws(KilnError) -> SubjectWrite in .delete(discardReason: "subject users deleted")
      } discard: { job, reason in
        _ = job.discardAutomatically(reason: reason, at: .kilnNow())
      }
      #expect(subject == nil && discarded.map(\.id) == [id])
      #expect(try await store.subject(project: "p1", name: "users") == nil)
      for (project, name) in [("p1", "users"), ("nowhere", "s")] {
        let error = await #expect(throws: KilnError.self) {
          _ = try await store.changeSubject(project: project, name: name, now: .kilnNow()) {
            (_: inout Subject) throws(KilnError) -> SubjectWrite in .delete(discardReason: "gone")
          } discard: { _, _ in }
        }
        #expect(error?.code == .notFound)
      }
    }
  }
}
