import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import KilnWire
import SwiftProtobuf
import Testing

/// The callers of the matrix.
enum Who: String, CaseIterable, CustomStringConvertible {
  case noToken = "no token"
  case badToken = "bad token"
  case revokedToken = "revoked token"
  case viewer = "VIEWER of alpha"
  case operatorOfAlpha = "OPERATOR of alpha"
  case operatorOfBeta = "OPERATOR of beta"
  case admin = "ADMIN"

  var description: String { rawValue }
}

/// The server, the users of the matrix and their tokens. Every probe acts on project
/// "alpha"; "operator-beta" holds a role in "beta" only.
struct AccessWorld {
  let port: Int
  let tokens: [Who: String?]
  let admin: KilnClient
  /// The server (whose HTTP face ``WebFaceTests`` probes with the same matrix).
  let app: KilnApplication

  /// Runs `body` with a client that calls as `who`.
  func call<R: Sendable>(as who: Who, _ body: (KilnClient) async throws -> R) async throws -> R {
    var configuration = KilnClientConfiguration(
      host: "127.0.0.1", port: port, timeout: .seconds(10), retry: RetryPolicy(maxAttempts: 1))
    configuration.token = tokens[who] ?? nil
    return try await withKilnClient(configuration) { try await body($0) }
  }

  /// A job of `project` that stays where the admin puts it (steps sleep ten minutes).
  func job(in project: String = "alpha", paused: Bool = false, discarded: Bool = false) async throws -> Job {
    let job = try await admin.submit(project: project, type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "600000"])
    if paused { return try await admin.pause(job.id) }
    if discarded { return try await admin.discard(job.id) }
    return job
  }

  static func with(_ body: (AccessWorld) async throws -> Void) async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.maxRunningJobs = 2
      $0.httpPort = 0
    }) { port, app in
      let adminConfiguration = try harness.adminConfiguration(port: port)
      try await withKilnClient(adminConfiguration) { admin in
        var tokens: [Who: String?] = [.noToken: nil, .badToken: "kiln_not-a-token", .admin: adminConfiguration.token]
        for (who, user, project, role) in [
          (Who.viewer, "viewer", "alpha", ProjectRole.viewer),
          (.operatorOfAlpha, "operator-alpha", "alpha", .operator),
          (.operatorOfBeta, "operator-beta", "beta", .operator),
        ] {
          _ = try await admin.createUser(user)
          try await admin.grantRole(role, to: user, in: project)
          tokens[who] = try await admin.createToken(for: user, description: "matrix").secret
        }
        let revoked = try await admin.createToken(for: "operator-alpha", description: "revoked")
        _ = try await admin.revokeToken(revoked.token.id)
        tokens[.revokedToken] = revoked.secret
        for project in ["alpha", "beta"] { _ = try await admin.createSubject("s", project: project) }
        try await body(AccessWorld(port: port, tokens: tokens, admin: admin, app: app))
      }
    }
  }
}

/// One RPC of the matrix: what the admin prepares, what the caller does, and the code
/// each caller must get (`nil`: OK).
struct Probe: Sendable {
  let rpc: String
  let expected: @Sendable (Who) -> KilnError.Code?
  let run: @Sendable (AccessWorld, Who, KilnClient) async throws -> Void
}

/// The usual expectations: UNAUTHENTICATED without a valid token, and then by role.
func expecting(
  viewer: KilnError.Code?, operatorOfAlpha: KilnError.Code?, operatorOfBeta: KilnError.Code?,
  admin: KilnError.Code? = nil
) -> @Sendable (Who) -> KilnError.Code? {
  { who in
    switch who {
    case .noToken, .badToken, .revokedToken: .unauthenticated
    case .viewer: viewer
    case .operatorOfAlpha: operatorOfAlpha
    case .operatorOfBeta: operatorOfBeta
    case .admin: admin
    }
  }
}

/// Reads the first message of a stream (or its error) and cancels it.
func firstMessage<M: Sendable>(
  _ start: (@escaping @Sendable (StreamingClientResponse<M>) async throws -> M?) async throws -> M?
) async throws -> M? {
  try await start { response in
    for try await message in response.messages { return message }
    return nil
  }
}

extension KilnError {
  /// The Kiln form of whatever a call threw.
  static func of(_ error: any Error) -> KilnError {
    if let error = error as? KilnError { return error }
    if let error = error as? RPCError {
      return KilnError(code: KilnError.Code(grpcStatus: error.code.rawValue), message: error.message)
    }
    return KilnError(code: .internalError, message: "\(error)")
  }
}

let adminOnly = expecting(viewer: .permissionDenied, operatorOfAlpha: .permissionDenied, operatorOfBeta: .permissionDenied)
let anyoneSignedIn = expecting(viewer: nil, operatorOfAlpha: nil, operatorOfBeta: nil)
let viewersOfAlpha = expecting(viewer: nil, operatorOfAlpha: nil, operatorOfBeta: .notFound)
let operatorsOfAlpha = expecting(viewer: .permissionDenied, operatorOfAlpha: nil, operatorOfBeta: .notFound)

/// Every RPC of kiln.v1, and the health check.
let probes: [Probe] = [
  Probe(rpc: "JobService/SubmitJob", expected: operatorsOfAlpha) { _, _, kiln in
    _ = try await kiln.submitJob(project: "alpha", type: "INDEX_BUILD", subject: "s", params: ["sleep_ms": "600000"])
  },
  Probe(rpc: "JobService/GetJob", expected: viewersOfAlpha) { world, _, kiln in
    _ = try await kiln.job(try await world.job().id)
  },
  Probe(rpc: "JobService/ListJobs", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.listJobs()
  },
  Probe(rpc: "JobService/PauseJob", expected: operatorsOfAlpha) { world, _, kiln in
    _ = try await kiln.pause(try await world.job().id)
  },
  Probe(rpc: "JobService/ResumeJob", expected: operatorsOfAlpha) { world, _, kiln in
    _ = try await kiln.resume(try await world.job(paused: true).id)
  },
  Probe(rpc: "JobService/RestartJob", expected: operatorsOfAlpha) { world, _, kiln in
    _ = try await kiln.restart(try await world.job(paused: true).id)
  },
  Probe(rpc: "JobService/DiscardJob", expected: operatorsOfAlpha) { world, _, kiln in
    _ = try await kiln.discard(try await world.job().id)
  },
  Probe(rpc: "JobService/DeleteJob", expected: operatorsOfAlpha) { world, _, kiln in
    try await kiln.delete(try await world.job(discarded: true).id)
  },
  // A batch answers OK and reports each job's refusal; the probe turns that into the code.
  Probe(rpc: "JobService/BatchJobs", expected: operatorsOfAlpha) { world, _, kiln in
    let outcome = try await kiln.batch(.pause, ids: [try await world.job().id])
    if case .failure(let error) = outcome.items[0].result { throw error }
  },
  Probe(rpc: "JobService/ListJobTypes", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.jobTypes()
  },
  Probe(rpc: "JobService/GetStepLog", expected: viewersOfAlpha) { world, _, kiln in
    _ = try await kiln.stepLog(jobID: try await world.job().id, step: "0")
  },
  Probe(rpc: "JobService/WatchJobs", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await firstMessage { handle in try await kiln.jobService.watchJobs(.init(), onResponse: handle) }
  },
  Probe(rpc: "JobService/WatchJob", expected: viewersOfAlpha) { world, _, kiln in
    let id = try await world.job().id
    _ = try await firstMessage { handle in try await kiln.jobService.watchJob(.with { $0.id = id }, onResponse: handle) }
  },
  Probe(rpc: "JobService/FollowStepLog", expected: viewersOfAlpha) { world, _, kiln in
    let id = try await world.job(discarded: true).id
    _ = try await firstMessage { handle in
      try await kiln.jobService.followStepLog(
        .with {
          $0.jobID = id
          $0.stepID = "0"
        }, onResponse: handle)
    }
  },
  Probe(rpc: "ProjectService/CreateProject", expected: adminOnly) { _, who, kiln in
    _ = try await kiln.createProject("made-by-\(who.rawValue.filter(\.isLetter))")
  },
  Probe(rpc: "ProjectService/GetProject", expected: viewersOfAlpha) { _, _, kiln in
    _ = try await kiln.project("alpha")
  },
  Probe(rpc: "ProjectService/ListProjects", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.projects()
  },
  Probe(rpc: "ProjectService/UpdateProject", expected: adminOnly) { _, _, kiln in
    _ = try await kiln.updateProject("alpha", description: "changed")
  },
  Probe(rpc: "ProjectService/DeleteProject", expected: adminOnly) { world, who, kiln in
    let name = "doomed-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createProject(name)
    _ = try await kiln.deleteProject(name)
  },
  Probe(rpc: "SubjectService/CreateSubject", expected: operatorsOfAlpha) { _, who, kiln in
    _ = try await kiln.createSubject("made-by-\(who.rawValue.filter(\.isLetter))", project: "alpha", schema: "a INT")
  },
  Probe(rpc: "SubjectService/GetSubject", expected: viewersOfAlpha) { _, _, kiln in
    _ = try await kiln.subject("s", project: "alpha")
  },
  Probe(rpc: "SubjectService/ListSubjects", expected: viewersOfAlpha) { _, _, kiln in
    _ = try await kiln.subjects(project: "alpha")
  },
  Probe(rpc: "SubjectService/UpdateSubject", expected: operatorsOfAlpha) { world, who, kiln in
    let name = "changed-by-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createSubject(name, project: "alpha")
    _ = try await kiln.updateSubject(name, project: "alpha", schema: "b INT")
  },
  Probe(rpc: "SubjectService/DeleteSubject", expected: operatorsOfAlpha) { world, who, kiln in
    let name = "deleted-by-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createSubject(name, project: "alpha")
    _ = try await kiln.deleteSubject(name, project: "alpha")
  },
  Probe(rpc: "AccessService/WhoAmI", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.whoAmI()
  },
  Probe(rpc: "AccessService/CreateUser", expected: adminOnly) { _, who, kiln in
    _ = try await kiln.createUser("new-\(who.rawValue.filter(\.isLetter))")
  },
  Probe(rpc: "AccessService/ListUsers", expected: adminOnly) { _, _, kiln in
    _ = try await kiln.users()
  },
  Probe(rpc: "AccessService/SetUserDisabled", expected: adminOnly) { world, who, kiln in
    let name = "disable-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    try await kiln.disableUser(name)
  },
  Probe(rpc: "AccessService/GrantRole", expected: adminOnly) { world, who, kiln in
    let name = "grant-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    try await kiln.grantRole(.viewer, to: name, in: "alpha")
  },
  Probe(rpc: "AccessService/RevokeRole", expected: adminOnly) { world, who, kiln in
    let name = "revoke-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    try await world.admin.grantRole(.viewer, to: name, in: "alpha")
    try await kiln.revokeRole(from: name, in: "alpha")
  },
  Probe(rpc: "AccessService/CreateToken", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.createToken(description: "own")
  },
  Probe(rpc: "AccessService/ListTokens", expected: anyoneSignedIn) { _, _, kiln in
    _ = try await kiln.tokens()
  },
  // Another user's token does not exist for anyone but an ADMIN.
  Probe(
    rpc: "AccessService/RevokeToken",
    expected: expecting(viewer: .notFound, operatorOfAlpha: .notFound, operatorOfBeta: .notFound)
  ) { world, _, kiln in
    let other = try await world.admin.createToken(description: "someone else's")
    _ = try await kiln.revokeToken(other.token.id)
  },
  Probe(rpc: "AccessService/ListAuditEvents", expected: adminOnly) { _, _, kiln in
    _ = try await kiln.auditEvents()
  },
  Probe(rpc: "grpc.health.v1.Health/Check", expected: { _ in nil }) { _, _, kiln in
    let status = try await kiln.health.check(.init()).status
    guard status == .serving else { throw KilnError(code: .internalError, message: "health: \(status)") }
  },
]

@Suite("Who may call what: every RPC × every kind of caller", .timeLimit(.minutes(3)))
struct AccessMatrixTests {
  @Test("each caller gets exactly the expected status from each RPC")
  func matrix() async throws {
    try await AccessWorld.with { world in
      for probe in probes {
        for who in Who.allCases {
          var got: KilnError?
          do {
            try await world.call(as: who) { kiln in try await probe.run(world, who, kiln) }
          } catch {
            got = KilnError.of(error)
          }
          let expected = probe.expected(who)
          #expect(got?.code == expected, "\(probe.rpc) as \(who): expected \(expected.map(\.description) ?? "OK"), got \(got.map(\.description) ?? "OK")")
          if let got, got.code == .notFound || got.code == .permissionDenied || got.code == .unauthenticated {
            #expect(!got.message.contains("secret"), "\(probe.rpc) as \(who): \(got.message)")
          }
        }
      }
    }
  }

  @Test("nothing of a project the caller cannot see leaks through lists, watches, batches or errors")
  func noLeaks() async throws {
    try await AccessWorld.with { world in
      let alphaJob = try await world.job(in: "alpha")
      let betaJob = try await world.job(in: "beta")

      try await world.call(as: .operatorOfBeta) { kiln in
        // Lists: no filter, a filter naming alpha, and alpha's subject or job id as a key.
        #expect(try await kiln.listJobs().jobs.map(\.id) == [betaJob.id])
        #expect(try await kiln.listJobs(filter: JobFilter(projects: ["alpha"])).jobs.isEmpty)
        #expect(try await kiln.listJobs(filter: JobFilter(key: alphaJob.id)).jobs.isEmpty)
        #expect(try await kiln.listJobs().totalSize == 1)
        #expect(try await kiln.projects().map(\.name) == ["beta"])

        // Errors name nothing of alpha.
        for attempt in [
          { _ = try await kiln.job(alphaJob.id) },
          { _ = try await kiln.pause(alphaJob.id) },
          { _ = try await kiln.project("alpha") },
          { _ = try await kiln.submitJob(project: "alpha", type: "INDEX_BUILD", subject: "s") },
        ] as [() async throws -> Void] {
          do {
            try await attempt()
            Issue.record("a call on alpha succeeded for an outsider")
          } catch let error as KilnError {
            #expect(error.code == .notFound)
            #expect(!error.message.contains("RUNNING") && !error.message.contains("PENDING") && !error.message.contains("s1"))
          }
        }
        let missing = await #expect(throws: KilnError.self) { _ = try await kiln.job("no-such-job") }
        let hidden = await #expect(throws: KilnError.self) { _ = try await kiln.job(alphaJob.id) }
        #expect(
          hidden?.message == missing?.message.replacingOccurrences(of: "no-such-job", with: alphaJob.id),
          "a hidden job and a missing one are told apart by nothing")

        // A batch by filter over everything touches beta only; by id, alpha's job is not found.
        let all = try await kiln.batch(.pause, matching: JobFilter())
        #expect(all.items.map(\.id) == [betaJob.id])
        let byID = try await kiln.batch(.discard, ids: [alphaJob.id])
        if case .failure(let error) = byID.items[0].result { #expect(error.code == .notFound) } else {
          Issue.record("an outsider discarded alpha's job")
        }
      }
      #expect(try await world.admin.job(alphaJob.id).status != .discarded)
      #expect(try await world.admin.job(alphaJob.id).status != .paused)

      // Watches: the snapshot and the live changes hold beta's jobs only.
      try await world.call(as: .operatorOfBeta) { kiln in
        var iterator = kiln.watchJobs().makeAsyncIterator()
        guard case .snapshot(let jobs, _) = try await iterator.next() else {
          Issue.record("a watch starts with a snapshot")
          return
        }
        #expect(jobs.map(\.id) == [betaJob.id])
        _ = try await world.job(in: "alpha")
        let lastBeta = try await world.job(in: "beta")
        while let event = try await iterator.next() {
          if case .created(let job, _) = event {
            #expect(job.project == "beta", "a watch of operator-beta saw \(job.project)")
            if job.id == lastBeta.id { break }
          }
        }
      }
    }
  }

  @Test("an ADMIN's batch covers both projects; an OPERATOR's the same batch only theirs")
  func crossProjectBatch() async throws {
    try await AccessWorld.with { world in
      let alpha = try await world.job(in: "alpha")
      let beta = try await world.job(in: "beta")
      let filter = JobFilter(projects: ["alpha", "beta"], statuses: [.pending, .running])

      let byOperator = try await world.call(as: .operatorOfAlpha) { kiln in try await kiln.batch(.pause, matching: filter) }
      #expect(byOperator.items.map(\.id) == [alpha.id])
      #expect(try await world.admin.job(alpha.id).status == .paused)
      #expect(try await world.admin.job(beta.id).status != .paused)

      let byAdmin = try await world.admin.batch(.discard, matching: JobFilter(projects: ["alpha", "beta"]))
      #expect(Set(byAdmin.items.map(\.id)) == [alpha.id, beta.id])
      #expect(byAdmin.succeeded == 2)
      let projects = Set(try await world.admin.listJobs(filter: JobFilter(statuses: [.discarded])).jobs.map(\.project))
      #expect(projects == ["alpha", "beta"], "an ADMIN's list with no project covers every project")
    }
  }
}
