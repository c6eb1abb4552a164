import Foundation
import KilnCore
import KilnStore
import Testing

/// Projects, users, roles, tokens and the audit trail, for every store.
@Suite("Store contract: access records", .timeLimit(.minutes(3)))
struct AccessStoreContractTests {
  @Test("projects: unique names, partial updates, deletion refused while a job is unended", arguments: StoreUnderTest.all)
  func projects(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let project = Project(name: "orders", description: "first", createTime: .kilnNow(), creator: "test")
      try await store.createProject(project)
      let duplicate = await #expect(throws: KilnError.self) { try await store.createProject(project) }
      #expect(duplicate?.code == .alreadyExists)
      var updated = try await store.updateProject(named: "orders", description: nil, callbackURL: .some("http://127.0.0.1:9/h"))
      #expect(updated.description == "first" && updated.callbackURL == "http://127.0.0.1:9/h")
      updated = try await store.updateProject(named: "orders", description: "second", callbackURL: .some(nil))
      #expect(updated.description == "second" && updated.callbackURL == nil)
      #expect(try await store.projects(named: ["orders", "a", "nowhere"]).map(\.name) == ["a", "orders"])

      try await store.createSubject(Subject(project: "orders", name: "s", createTime: .kilnNow(), creator: "test"))
      let running = try #require(try await store.insert(makeJob(project: "orders"), idempotency: nil).job).id
      try await move(store, running, to: .running)
      let busy = await #expect(throws: KilnError.self) { _ = try await store.deleteProject(named: "orders", now: .kilnNow()) }
      #expect(busy?.code == .failedPrecondition)
      #expect(try await store.job(id: running) != nil, "a refused deletion deletes nothing")
      try await move(store, running, to: .finished)
      let before = try await store.currentRevision()
      #expect(try await store.deleteProject(named: "orders", now: .kilnNow()) == [running])
      #expect(try await store.events(after: before, limit: 10).map(\.kind) == [.deleted])
      #expect(try await store.project(named: "orders") == nil)
      #expect(try await store.subjects(inProjects: ["orders"]).isEmpty)
      let missing = await #expect(throws: KilnError.self) { _ = try await store.deleteProject(named: "orders", now: .kilnNow()) }
      #expect(missing?.code == .notFound)
    }
  }

  @Test("users, roles and tokens: grants follow roles and revocation", arguments: StoreUnderTest.all)
  func usersRolesTokens(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      #expect(try await store.bootstrap(admin: User(name: "admin", isAdmin: true, createTime: .kilnNow()),
        token: AccessToken(id: "t-admin", user: "admin", description: "", createTime: .kilnNow()), secretHash: "h-admin"))
      #expect(!(try await store.bootstrap(admin: User(name: "other", isAdmin: true, createTime: .kilnNow()),
        token: AccessToken(id: "t-other", user: "other", description: "", createTime: .kilnNow()), secretHash: "h-other")),
        "bootstrap happens once")
      try await store.createUser(User(name: "ops", isAdmin: false, createTime: .kilnNow()))
      let duplicate = await #expect(throws: KilnError.self) {
        try await store.createUser(User(name: "ops", isAdmin: false, createTime: .kilnNow()))
      }
      #expect(duplicate?.code == .alreadyExists)
      try await store.grantRole(.viewer, user: "ops", project: "a")
      try await store.grantRole(.viewer, user: "ops", project: "b")
      try await store.grantRole(.operator, user: "ops", project: "a")
      #expect(try await store.user(named: "ops")?.roles == ["a": .operator, "b": .viewer], "a grant replaces the role held")
      let noProject = await #expect(throws: KilnError.self) { try await store.grantRole(.viewer, user: "ops", project: "nowhere") }
      #expect(noProject?.code == .notFound)
      #expect(try await store.revokeRole(user: "ops", project: "b"))
      #expect(!(try await store.revokeRole(user: "ops", project: "b")))

      let created = Date.kilnNow()
      try await store.createToken(AccessToken(id: "t1", user: "ops", description: "ci", createTime: created), secretHash: "h1")
      try await store.createToken(
        AccessToken(id: "t2", user: "ops", description: "laptop", createTime: created.addingTimeInterval(1)), secretHash: "h2")
      #expect(try await store.tokens(user: "ops").map(\.id) == ["t2", "t1"])
      let grant = try #require(try await store.grant(secretHash: "h1"))
      #expect(grant.token.id == "t1" && grant.user.name == "ops" && grant.user.roles == ["a": .operator])
      #expect(try await store.grant(secretHash: "unknown") == nil)
      let revokedAt = Date.kilnNow()
      let revoked = try await store.revokeToken(id: "t1", now: revokedAt)
      #expect(revoked.revokeTime == revokedAt)
      #expect(try await store.revokeToken(id: "t1", now: revokedAt.addingTimeInterval(60)).revokeTime == revokedAt, "stays at its first time")
      let noToken = await #expect(throws: KilnError.self) { _ = try await store.revokeToken(id: "nope", now: .kilnNow()) }
      #expect(noToken?.code == .notFound)
      #expect(try await store.users().map(\.name) == ["admin", "ops"])
    }
  }

  @Test("the last enabled ADMIN cannot be disabled, also by two ADMINs disabling each other at once", arguments: StoreUnderTest.all)
  func lastAdmin(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      for name in ["root1", "root2"] { try await store.createUser(User(name: name, isAdmin: true, createTime: .kilnNow())) }
      try await store.createUser(User(name: "ops", isAdmin: false, createTime: .kilnNow()))
      for _ in 0..<20 {
        let outcomes = await withTaskGroup(of: Bool.self) { group in
          for name in ["root1", "root2"] {
            group.addTask { (try? await store.setUserDisabled(name, disabled: true)) != nil }
          }
          return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1, "exactly one of the two is disabled")
        let enabled = try await store.users().filter { $0.isAdmin && !$0.isDisabled }
        #expect(enabled.count == 1)
        for name in ["root1", "root2"] { _ = try await store.setUserDisabled(name, disabled: false) }
      }
      _ = try await store.setUserDisabled("root1", disabled: true)
      let last = await #expect(throws: KilnError.self) { _ = try await store.setUserDisabled("root2", disabled: true) }
      #expect(last?.code == .failedPrecondition)
      #expect(try await store.setUserDisabled("ops", disabled: true).isDisabled, "a non-ADMIN is disabled freely")
      let unknown = await #expect(throws: KilnError.self) { _ = try await store.setUserDisabled("nobody", disabled: true) }
      #expect(unknown?.code == .notFound)
    }
  }

  @Test("the audit trail pages newest first and filters", arguments: StoreUnderTest.all)
  func audit(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let base = Date.kilnNow()
      for i in 0..<7 {
        try await store.appendAudit(AuditEvent(
          time: base.addingTimeInterval(Double(i)), actor: i.isMultiple(of: 2) ? "admin" : "ops", tokenID: "t",
          method: "kiln.v1.JobService/PauseJob", targetKind: "job", target: "j\(i)", project: "a",
          code: i == 3 ? 9 : 0, message: i == 3 ? "refused" : "", peer: "127.0.0.1"))
      }
      let first = try await store.auditEvents(filter: AuditFilter(), beforeID: nil, limit: 3)
      #expect(first.map(\.target) == ["j6", "j5", "j4"])
      let second = try await store.auditEvents(filter: AuditFilter(), beforeID: first.last?.id, limit: 10)
      #expect(second.map(\.target) == ["j3", "j2", "j1", "j0"])
      #expect(try await store.auditEvents(filter: AuditFilter(actor: "ops"), beforeID: nil, limit: 10).map(\.target) == ["j5", "j3", "j1"])
      #expect(try await store.auditEvents(filter: AuditFilter(failuresOnly: true), beforeID: nil, limit: 10).map(\.target) == ["j3"])
    }
  }
}
