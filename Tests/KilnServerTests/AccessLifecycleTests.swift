import Foundation
import GRPCCore
import KilnAccess
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import Logging
import SwiftProtobuf
import Testing

@Suite("Tokens, users, projects and the audit trail over the wire", .timeLimit(.minutes(3)))
struct AccessLifecycleTests {
  @Test("first start: an ADMIN token in a file only its owner reads, and the default project; a restart keeps them")
  func firstStart() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let first = try await harness.serve { port, app in
      let attributes = try FileManager.default.attributesOfItem(atPath: app.adminTokenFile.path)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
      let token = try harness.adminToken
      #expect(token.hasPrefix("kiln_") && token.count >= 5 + 43, "256 random bits, base64url")
      return try await withKilnClient(try harness.adminConfiguration(port: port)) { kiln in
        let me = try await kiln.whoAmI()
        #expect(me.user.name == "admin" && me.user.isAdmin && me.authenticationEnabled)
        #expect(try await kiln.projects().map(\.name).contains("default"))
        _ = try await kiln.submit(project: "default", type: "INDEX_BUILD", subject: "first", params: ["sleep_ms": "0"])
        return token
      }
    }
    try await harness.serve { port, _ in
      #expect(try harness.adminToken == first, "a restart does not make a new ADMIN token")
      let users = try await withKilnClient(try harness.adminConfiguration(port: port)) { kiln in try await kiln.users() }
      #expect(users.map(\.name) == ["admin"])
    }
  }

  @Test("--insecure-no-auth: a call without a token is an anonymous ADMIN; a bad token is still refused")
  func authenticationOff() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: { $0.requiresAuthentication = false }) { port, _ in
      #expect(!FileManager.default.fileExists(atPath: harness.dataDirectory.appendingPathComponent("admin.token").path))
      try await withKilnClient(host: "127.0.0.1", port: port) { kiln in
        let me = try await kiln.whoAmI()
        #expect(me.user.name == "anonymous" && me.user.isAdmin && !me.authenticationEnabled)
        let job = try await kiln.submit(project: "default", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "0"])
        #expect(job.submitter == "anonymous")
      }
      let bad = KilnClientConfiguration(port: port, token: "kiln_wrong", retry: RetryPolicy(maxAttempts: 1))
      let refused = await #expect(throws: KilnError.self) { try await withKilnClient(bad) { _ = try await $0.whoAmI() } }
      #expect(refused?.code == .unauthenticated)
    }
  }

  @Test("revoking a token refuses its next call and ends its open watches; disabling a user ends theirs")
  func revocation() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, app in
      try await withKilnClient(try harness.adminConfiguration(port: port)) { admin in
        _ = try await admin.createUser("ops")
        try await admin.grantRole(.operator, to: "ops", in: "alpha")
        let first = try await admin.createToken(for: "ops", description: "laptop")
        let second = try await admin.createToken(for: "ops", description: "ci")
        let opsFirst = KilnClientConfiguration(port: port, token: first.secret, retry: RetryPolicy(maxAttempts: 1))
        let opsSecond = KilnClientConfiguration(port: port, token: second.secret, retry: RetryPolicy(maxAttempts: 1))

        // A watch on each token; revoking the first ends only the first.
        let watchFirst = Task { try await Self.watchUntilEnd(opsFirst) }
        let watchSecond = Task { try await Self.watchUntilEnd(opsSecond) }
        #expect(await eventually { app.openStreams.count == 2 })
        _ = try await admin.revokeToken(first.token.id)
        let ended = await watchFirst.result
        #expect(Self.code(of: ended) == .unauthenticated)
        #expect(app.openStreams.count == 1)
        let refused = await #expect(throws: KilnError.self) { try await withKilnClient(opsFirst) { _ = try await $0.whoAmI() } }
        #expect(refused?.code == .unauthenticated)
        #expect(refused?.message.contains("revoked") == true)
        #expect(try await withKilnClient(opsSecond) { try await $0.whoAmI().user.name } == "ops")

        // Disabling the user ends the other watch and refuses every token of theirs.
        try await admin.disableUser("ops")
        #expect(Self.code(of: await watchSecond.result) == .unauthenticated)
        let disabled = await #expect(throws: KilnError.self) { try await withKilnClient(opsSecond) { _ = try await $0.whoAmI() } }
        #expect(disabled?.message.contains("disabled") == true)
        try await admin.enableUser("ops")
        #expect(try await withKilnClient(opsSecond) { try await $0.whoAmI().user.name } == "ops")

        // The last enabled ADMIN cannot lock everyone out.
        let lockout = await #expect(throws: KilnError.self) { try await admin.disableUser("admin") }
        #expect(lockout?.code == .failedPrecondition)

        // Listing: revoked tokens only when asked for; another user's only for an ADMIN.
        #expect(try await admin.tokens(of: "ops").map(\.id) == [second.token.id])
        #expect(Set(try await admin.tokens(of: "ops", includeInactive: true).map(\.id)) == [first.token.id, second.token.id])
        let own = try await withKilnClient(opsSecond) { ops in try await ops.tokens() }
        #expect(own.map(\.id) == [second.token.id])
        let others = await #expect(throws: KilnError.self) {
          try await withKilnClient(opsSecond) { ops in _ = try await ops.tokens(of: "admin") }
        }
        #expect(others?.code == .permissionDenied)
      }
    }
  }

  @Test("a role granted or revoked applies from the next call on; the user's watches end with UNAVAILABLE")
  func roleChanges() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, app in
      try await withKilnClient(try harness.adminConfiguration(port: port)) { admin in
        _ = try await admin.createUser("carol")
        let carol = KilnClientConfiguration(
          port: port, token: try await admin.createToken(for: "carol").secret, retry: RetryPolicy(maxAttempts: 1))
        let job = try await admin.submit(project: "alpha", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "600000"])
        let hidden = await #expect(throws: KilnError.self) { try await withKilnClient(carol) { _ = try await $0.job(job.id) } }
        #expect(hidden?.code == .notFound)

        try await admin.grantRole(.viewer, to: "carol", in: "alpha")
        #expect(try await withKilnClient(carol) { try await $0.job(job.id).id } == job.id)
        let viewerPause = await #expect(throws: KilnError.self) {
          try await withKilnClient(carol) { _ = try await $0.pause(job.id) }
        }
        #expect(viewerPause?.code == .permissionDenied)

        try await admin.grantRole(.operator, to: "carol", in: "alpha")
        #expect(try await withKilnClient(carol) { try await $0.pause(job.id, requestID: "carol-1").status } == .paused)
        let batched = try await withKilnClient(carol) { try await $0.batch(.resume, ids: [job.id], requestID: "carol-2") }
        #expect(batched.succeeded == 1)

        let watch = Task { try await Self.watchUntilEnd(carol) }
        #expect(await eventually { app.openStreams.count == 1 })
        try await admin.revokeRole(from: "carol", in: "alpha")
        #expect(Self.code(of: await watch.result) == .unavailable)
        let gone = await #expect(throws: KilnError.self) { try await withKilnClient(carol) { _ = try await $0.job(job.id) } }
        #expect(gone?.code == .notFound)
        // Repeating a request id returns the first answer, but never a job now hidden.
        let replayed = await #expect(throws: KilnError.self) {
          try await withKilnClient(carol) { _ = try await $0.pause(job.id, requestID: "carol-1") }
        }
        #expect(replayed?.code == .notFound)
        let replayedBatch = try await withKilnClient(carol) { try await $0.batch(.resume, ids: [job.id], requestID: "carol-2") }
        #expect(replayedBatch.items.first.map { if case .failure(let e) = $0.result { e.code == .notFound } else { false } } == true)
      }
    }
  }

  @Test("a token with a time to live stops working when it expires")
  func expiry() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      try await withKilnClient(try harness.adminConfiguration(port: port)) { admin in
        // A token within its life works, and says when it ends.
        let hour = try await admin.createToken(description: "an hour", ttl: .seconds(3600))
        let expiry = try #require(hour.token.expireTime)
        #expect(abs(expiry.timeIntervalSince(hour.token.createTime) - 3600) < 1)
        let working = KilnClientConfiguration(port: port, token: hour.secret, retry: RetryPolicy(maxAttempts: 1))
        #expect(try await withKilnClient(working) { try await $0.whoAmI().tokenID } == hour.token.id)
        // One past its life is refused (waiting longer than the life, never racing it).
        let short = try await admin.createToken(description: "short", ttl: .seconds(1))
        try await Task.sleep(for: .milliseconds(1500))
        let client = KilnClientConfiguration(port: port, token: short.secret, retry: RetryPolicy(maxAttempts: 1))
        let expired = await #expect(throws: KilnError.self) { try await withKilnClient(client) { _ = try await $0.whoAmI() } }
        #expect(expired?.code == .unauthenticated)
        #expect(expired?.message.contains("expired") == true)
        let invalid = await #expect(throws: KilnError.self) { _ = try await admin.createToken(ttl: .seconds(-5)) }
        #expect(invalid?.field == "ttl")
      }
    }
  }

  @Test("a project with unfinished jobs stays; deleting one removes its final jobs (with events) and its grants")
  func projectDeletion() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      try await withKilnClient(try harness.adminConfiguration(port: port)) { admin in
        let project = try await admin.createProject("short-lived", description: "for a test")
        #expect(project.creator == "admin" && project.description == "for a test")
        let duplicate = await #expect(throws: KilnError.self) { _ = try await admin.createProject("short-lived") }
        #expect(duplicate?.code == .alreadyExists)
        let badName = await #expect(throws: KilnError.self) { _ = try await admin.createProject("no spaces") }
        #expect(badName?.field == "name")

        _ = try await admin.createUser("watcher")
        try await admin.grantRole(.viewer, to: "watcher", in: "short-lived")
        let done = try await admin.submit(project: "short-lived", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "0"])
        let busy = try await admin.submit(project: "short-lived", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "600000"])
        _ = try await admin.waitForJob(done.id)

        let refused = await #expect(throws: KilnError.self) { _ = try await admin.deleteProject("short-lived") }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.message.contains("1 job(s)") == true)
        #expect(try await admin.job(busy.id).status != .discarded, "a refused delete changes nothing")

        _ = try await admin.discard(busy.id)
        var events = admin.watchJobs(filter: JobFilter(projects: ["short-lived"])).makeAsyncIterator()
        _ = try await events.next()  // the snapshot
        #expect(try await admin.deleteProject("short-lived") == 2)
        var deleted: Set<String> = []
        while deleted.count < 2, let event = try await events.next() {
          if case .deleted(let job, _) = event { deleted.insert(job.id) }
        }
        #expect(deleted == [done.id, busy.id], "watchers see each job of the project go")
        let gone = await #expect(throws: KilnError.self) { _ = try await admin.project("short-lived") }
        #expect(gone?.code == .notFound)
        #expect(try await admin.users().first { $0.name == "watcher" }?.roles.isEmpty == true)
        let submit = await #expect(throws: KilnError.self) {
          _ = try await admin.submit(project: "short-lived", type: "INDEX_BUILD", subject: "s")
        }
        #expect(submit?.code == .notFound)
      }
    }
  }

  @Test("the audit trail records who did what to which target, refused calls included, newest first, in pages")
  func auditTrail() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      try await withKilnClient(try harness.adminConfiguration(port: port)) { admin in
        _ = try await admin.createSubject("s", project: "alpha")
        _ = try await admin.createUser("viewer")
        try await admin.grantRole(.viewer, to: "viewer", in: "alpha")
        let token = try await admin.createToken(for: "viewer")
        let job = try await admin.submitJob(project: "alpha", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "600000"])
        _ = try await admin.pause(job.id)

        let viewer = KilnClientConfiguration(port: port, token: token.secret, retry: RetryPolicy(maxAttempts: 1))
        _ = try? await withKilnClient(viewer) { _ = try await $0.resume(job.id) }
        let anonymous = KilnClientConfiguration(port: port, retry: RetryPolicy(maxAttempts: 1))
        _ = try? await withKilnClient(anonymous) { _ = try await $0.discard(job.id) }
        _ = try await withKilnClient(viewer) { try await $0.job(job.id) }  // a read: not audited

        let page = try await admin.auditEvents()
        let methods = page.events.map { $0.method.split(separator: "/").last.map(String.init) ?? "" }
        #expect(
          methods == [
            "DiscardJob", "ResumeJob", "PauseJob", "SubmitJob", "CreateToken", "GrantRole", "CreateUser", "CreateSubject",
          ])
        let subject = try #require(page.events.last)
        #expect(subject.targetKind == "subject" && subject.target == "s" && subject.project == "alpha")
        let refusedAnonymously = page.events[0]
        #expect(refusedAnonymously.actor == "" && refusedAnonymously.code == 16, "UNAUTHENTICATED")
        #expect(!refusedAnonymously.peer.isEmpty)
        let refusedViewer = page.events[1]
        #expect(refusedViewer.actor == "viewer" && refusedViewer.code == 7 && refusedViewer.target == job.id)
        #expect(refusedViewer.tokenID == token.token.id)
        #expect(refusedViewer.message.contains("VIEWER"))
        let paused = page.events[2]
        #expect(paused.actor == "admin" && paused.code == 0 && paused.target == job.id && paused.project == "alpha")
        #expect(page.events[3].target == job.id, "a submission names the job it made")
        #expect(page.events[4].target == token.token.id, "a token is named by its id, never its secret")
        #expect(!page.events.contains { $0.target.contains(token.secret) || $0.message.contains(token.secret) })

        #expect(try await admin.auditEvents(filter: AuditFilter(failuresOnly: true)).events.count == 2)
        #expect(try await admin.auditEvents(filter: AuditFilter(actor: "viewer")).events.map(\.method) == [
          "kiln.v1.JobService/ResumeJob"
        ])
        #expect(try await admin.auditEvents(filter: AuditFilter(method: "PauseJob")).events.count == 1)
        #expect(try await admin.auditEvents(filter: AuditFilter(method: "kiln.v1.JobService/PauseJob")).events.count == 1)
        let unknown = await #expect(throws: KilnError.self) { _ = try await admin.auditEvents(filter: AuditFilter(method: "GetJob")) }
        #expect(unknown?.field == "filter.method")
        #expect(try await admin.auditEvents(filter: AuditFilter(project: "alpha")).events.count == 4)

        var seen: [Int64] = []
        var pageToken: String?
        repeat {
          let page = try await admin.auditEvents(pageSize: 3, pageToken: pageToken)
          seen += page.events.map(\.id)
          pageToken = page.nextPageToken
        } while pageToken != nil
        #expect(seen == page.events.map(\.id), "pages walk the same events, newest first")
      }
    }
  }

  @Test("health checks need no token and report NOT_SERVING once the server shuts down")
  func health() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.prepareStore()
    let app = try await KilnApplication(
      configuration: harness.configuration(), logger: { var l = Logger(label: "t"); l.logLevel = .error; return l }())
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.run() }
      let port = try await app.listeningPort
      try await withKilnClient(KilnClientConfiguration(port: port)) { kiln in
        #expect(try await kiln.health.check(.init()).status == .serving)
        #expect(try await kiln.health.check(.with { $0.service = "kiln.v1.JobService" }).status == .serving)
        let unknown = await #expect(throws: RPCError.self) {
          _ = try await kiln.health.check(.with { $0.service = "nope" })
        }
        #expect(unknown?.code == .notFound)
        let statuses = try await kiln.health.watch(.init()) { response in
          var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
          for try await message in response.messages {
            statuses.append(message.status)
            if statuses.count == 1 { Task { await app.shutdown() } }
          }
          return statuses
        }
        #expect(statuses == [.serving, .notServing])
      }
      try await group.waitForAll()
    }
  }

  /// Watches every job until the stream ends; returns normally only if it ends without error.
  static func watchUntilEnd(_ configuration: KilnClientConfiguration) async throws {
    try await withKilnClient(configuration) { kiln in
      try await kiln.jobService.watchJobs(.init()) { response in
        for try await _ in response.messages {}
      }
    }
  }

  static func code(of result: Result<Void, any Error>) -> KilnError.Code? {
    guard case .failure(let error) = result else { return nil }
    return KilnError.of(error).code
  }
}

