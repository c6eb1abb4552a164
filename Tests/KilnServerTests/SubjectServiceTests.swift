import Foundation
import GRPCCore
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

@Suite("SubjectService over the wire: records, rules, automatic discard, watchers", .timeLimit(.minutes(2)))
struct SubjectServiceTests {
  @Test("create, get, list by project, update bumps the version only on a change, delete")
  func lifecycle() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (kiln: KilnClient, _: KilnApplication) in
      let created = try await kiln.createSubject(
        "sales_model", project: "sales", kind: "model", schema: "id INT", attributes: ["owner": "ana"])
      #expect(created.version == 1 && created.creator == "admin" && created.kind == "model")
      _ = try await kiln.createSubject("sales_model", project: "ops")
      #expect(try await kiln.subject("sales_model", project: "sales") == created)
      #expect(try await kiln.subjects(project: "sales").map(\.name) == ["sales_model"])
      #expect(try await kiln.subjects().map { "\($0.project)/\($0.name)" } == ["ops/sales_model", "sales/sales_model"])

      let same = try await kiln.updateSubject("sales_model", project: "sales", schema: "id INT", setAttributes: ["owner": "ana"])
      #expect(same.subject == created && same.discardedJobIDs.isEmpty, "nothing changed: nothing written")
      let changed = try await kiln.updateSubject("sales_model", project: "sales", setAttributes: ["tier": "gold"])
      #expect(changed.subject?.version == 2)
      #expect(changed.subject?.attributes == ["owner": "ana", "tier": "gold"])
      #expect(changed.subject?.schema == "id INT")
      #expect(try await kiln.subject("sales_model", project: "ops").version == 1, "another project's subject stays")

      #expect(try await kiln.deleteSubject("sales_model", project: "sales").discardedJobIDs.isEmpty)
      let gone = await #expect(throws: KilnError.self) { _ = try await kiln.subject("sales_model", project: "sales") }
      #expect(gone?.code == .notFound && gone?.message == "subject sales_model not found in project sales")
      #expect(try await kiln.subjects(project: "sales").isEmpty)
      let noProject = await #expect(throws: KilnError.self) { _ = try await kiln.subjects(project: "nope") }
      #expect(noProject?.code == .notFound && noProject?.message == "project nope not found")
    }
  }

  @Test("an expected version that is not the subject's is ABORTED with the current version, and discards nothing")
  func expectedVersion() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (kiln: KilnClient, _: KilnApplication) in
      _ = try await kiln.createSubject("cube", project: "sales", schema: "a INT")
      let job = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "cube", params: ["sleep_ms": "600000"])
      let v2 = try await kiln.updateSubject("cube", project: "sales", schema: "a INT, b INT", expectedVersion: 1)
      #expect(v2.subject?.version == 2 && v2.discardedJobIDs == [job.id])

      let next = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "cube", params: ["sleep_ms": "600000"])
      let stale = await #expect(throws: KilnError.self) {
        _ = try await kiln.updateSubject("cube", project: "sales", schema: "c INT", expectedVersion: 1)
      }
      #expect(stale?.code == .aborted && stale?.details["kiln-subject-version"] == "2")
      let staleDelete = await #expect(throws: KilnError.self) {
        _ = try await kiln.deleteSubject("cube", project: "sales", expectedVersion: 1)
      }
      #expect(staleDelete?.code == .aborted)
      #expect(try await kiln.subject("cube", project: "sales").schema == "a INT, b INT", "a refused change writes nothing")
      #expect(try await kiln.job(next.id).status != .discarded, "and discards nothing")
      #expect(try await kiln.deleteSubject("cube", project: "sales", expectedVersion: 2).discardedJobIDs == [next.id])
    }
  }

  @Test("bad input is refused with the field named, and changes nothing")
  func badInput() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (kiln: KilnClient, _: KilnApplication) in
      _ = try await kiln.createSubject("m", project: "sales", schema: "id INT")
      let cases: [(String, KilnError.Code, () async throws -> Void)] = [
        ("name", .invalidArgument, { _ = try await kiln.createSubject("", project: "sales") }),
        ("name", .invalidArgument, { _ = try await kiln.createSubject("a\u{7}b", project: "sales") }),
        ("project", .invalidArgument, { _ = try await kiln.createSubject("x", project: "") }),
        ("kind", .invalidArgument, { _ = try await kiln.createSubject("x", project: "sales", kind: String(repeating: "k", count: 65)) }),
        ("schema", .invalidArgument, {
          _ = try await kiln.createSubject("x", project: "sales", schema: String(repeating: "s", count: 70_000))
        }),
        ("attributes", .invalidArgument, { _ = try await kiln.createSubject("x", project: "sales", attributes: ["": "v"]) }),
        ("set_attributes", .invalidArgument, { _ = try await kiln.updateSubject("m", project: "sales", setAttributes: ["": "v"]) }),
        ("name", .invalidArgument, { _ = try await kiln.updateSubject("", project: "sales", schema: "x") }),
        ("", .alreadyExists, { _ = try await kiln.createSubject("m", project: "sales") }),
        ("", .notFound, { _ = try await kiln.createSubject("x", project: "nope") }),
        ("", .notFound, { _ = try await kiln.updateSubject("nope", project: "sales", schema: "x") }),
        ("", .notFound, { _ = try await kiln.deleteSubject("nope", project: "sales") }),
      ]
      for (field, code, call) in cases {
        let error = await #expect(throws: KilnError.self) { try await call() }
        #expect(error?.code == code, "\(error?.description ?? "no error")")
        if !field.isEmpty { #expect(error?.field == field, "\(error?.description ?? "")") }
      }
      #expect(try await kiln.subjects(project: "sales").map(\.name) == ["m"])
      #expect(try await kiln.subject("m", project: "sales").version == 1)
    }
  }

  @Test("submitting against a missing subject is NOT_FOUND naming it, and creates nothing")
  func missingSubject() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (kiln: KilnClient, _: KilnApplication) in
      let error = await #expect(throws: KilnError.self) {
        _ = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "sales_model")
      }
      #expect(error?.code == .notFound)
      #expect(error?.message == "subject sales_model not found in project sales")
      #expect(try await kiln.listJobs().totalSize == 0)
      _ = try await kiln.createSubject("sales_model", project: "ops")
      let elsewhere = await #expect(throws: KilnError.self) {
        _ = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "sales_model")
      }
      #expect(elsewhere?.code == .notFound, "a subject of another project does not count")
      #expect(try await kiln.listJobs().totalSize == 0)
    }
  }

  @Test("watchers see the discard with its reason; the new version's job runs; restart says to submit anew")
  func watchersSeeTheReason() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (kiln: KilnClient, _: KilnApplication) in
      _ = try await kiln.createSubject("sales_model", project: "sales", schema: "v1")
      _ = try await kiln.updateSubject("sales_model", project: "sales", schema: "v2")
      _ = try await kiln.updateSubject("sales_model", project: "sales", schema: "v3")
      let job = try await kiln.submitJob(
        project: "sales", type: "INDEX_BUILD", subject: "sales_model", params: ["sleep_ms": "600000"])
      #expect(job.subjectVersion == 3)
      let paused = try await kiln.pause(job.id)
      let since = paused.revision

      let change = try await kiln.updateSubject("sales_model", project: "sales", schema: "v4")
      #expect(change.discardedJobIDs == [job.id])
      let reason = "subject sales_model changed from v3 to v4"
      let stored = try await kiln.job(job.id)
      #expect(stored.status == .discarded && stored.statusReason == reason)

      // The event log replays the discard with the reason, as a live watcher saw it.
      let events = try await kiln.jobService.watchJob(.with {
        $0.id = job.id
        $0.sinceRevision = since
      }) { response in
        var messages: [Kiln_V1_WatchJobsResponse] = []
        for try await message in response.messages { messages.append(message) }
        return messages
      }
      let discard = try #require(events.last { $0.job.status == .discarded })
      #expect(discard.job.statusReason == reason)
      #expect(discard.revision > since)

      let restart = await #expect(throws: KilnError.self) { _ = try await kiln.restart(job.id) }
      #expect(restart?.code == .failedPrecondition)
      #expect(restart?.message.contains("submit a new job") == true && restart?.message.contains(reason) == true)

      let next = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "sales_model", params: ["sleep_ms": "0"])
      #expect(next.subjectVersion == 4)
      #expect(try await kiln.waitForJob(next.id).status == .finished)

      let deleted = try await kiln.deleteSubject("sales_model", project: "sales")
      #expect(deleted.discardedJobIDs.isEmpty, "final jobs keep their subject's name and stay as they are")
      #expect(try await kiln.job(next.id).status == .finished)
    }
  }

  @Test("a project the caller holds no role in has no subjects for them, with the message of a missing project")
  func hiddenProjects() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (admin: KilnClient, app: KilnApplication) in
      _ = try await admin.createSubject("secret_model", project: "alpha")
      _ = try await admin.createSubject("beta_model", project: "beta")
      _ = try await admin.createUser("bob")
      try await admin.grantRole(.viewer, to: "bob", in: "beta")
      let token = try await admin.createToken(for: "bob").secret
      let port = try await app.listeningPort
      try await withKilnClient(KilnClientConfiguration(port: port, token: token, retry: RetryPolicy(maxAttempts: 1))) {
        (bob: KilnClient) async throws in
        #expect(try await bob.subjects().map(\.name) == ["beta_model"])
        for project in ["alpha", "no-such-project"] {
          let error = await #expect(throws: KilnError.self) { _ = try await bob.subject("secret_model", project: project) }
          #expect(error?.code == .notFound && error?.message == "project \(project) not found")
          let update = await #expect(throws: KilnError.self) {
            _ = try await bob.updateSubject("secret_model", project: project, schema: "x")
          }
          #expect(update?.message == "project \(project) not found")
        }
        let denied = await #expect(throws: KilnError.self) { _ = try await bob.deleteSubject("beta_model", project: "beta") }
        #expect(denied?.code == .permissionDenied)
      }
      #expect(try await admin.subject("secret_model", project: "alpha").version == 1)
      #expect(try await admin.subject("beta_model", project: "beta").version == 1)
    }
  }

  @Test("deleting a project deletes its subjects")
  func projectDeletion() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { (admin: KilnClient, _: KilnApplication) in
      _ = try await admin.createProject("short-lived")
      _ = try await admin.createSubject("m", project: "short-lived")
      #expect(try await admin.deleteProject("short-lived") == 0)
      _ = try await admin.createProject("short-lived")
      #expect(try await admin.subjects(project: "short-lived").isEmpty)
      _ = try await admin.createSubject("m", project: "short-lived")
    }
  }
}
