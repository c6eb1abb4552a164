public import Foundation
public import KilnCore
public import KilnStore
import PostgresNIO

extension PostgresJobStore {
  // MARK: - Projects

  public func createProject(_ project: Project) async throws {
    try await write { tx in
      let inserted = try await tx.rows(
        """
        INSERT INTO project (name, description, create_time, creator, callback_url)
        VALUES (\(project.name), \(project.description), \(JobCoding.millis(project.createTime)), \(project.creator),
          \(project.callbackURL))
        ON CONFLICT (name) DO NOTHING RETURNING name
        """, as: String.self)
      guard !inserted.isEmpty else {
        throw KilnError(code: .alreadyExists, message: "project \(project.name) already exists")
      }
    }
  }

  static let projectColumns = "name, description, create_time, creator, callback_url"

  public func project(named name: String) async throws -> Project? {
    try await read { tx in
      try await tx.first(
        PostgresQuery(unsafeSQL: "SELECT \(Self.projectColumns) FROM project WHERE name = $1", binds: Self.bindings(name)),
        as: (String, String, Int64, String, String?).self
      ).map(Self.project)
    }
  }

  public func projects(named names: Set<String>?) async throws -> [Project] {
    try await read { tx in
      var query = SQLBuilder("SELECT \(Self.projectColumns) FROM project")
      if let names {
        guard !names.isEmpty else { return [] }
        query.append(" WHERE name = ANY(\(query.bind(names.sorted())))")
      }
      query.append(" ORDER BY name")
      return try await tx.rows(query.query, as: (String, String, Int64, String, String?).self).map(Self.project)
    }
  }

  public func updateProject(named name: String, description: String?, callbackURL: String??) async throws -> Project {
    try await write { tx in
      if let description {
        try await tx.execute("UPDATE project SET description = \(description) WHERE name = \(name)")
      }
      if let callbackURL {
        try await tx.execute("UPDATE project SET callback_url = \(callbackURL) WHERE name = \(name)")
      }
      guard
        let row = try await tx.first(
          PostgresQuery(unsafeSQL: "SELECT \(Self.projectColumns) FROM project WHERE name = $1", binds: Self.bindings(name)),
          as: (String, String, Int64, String, String?).self)
      else { throw KilnError.projectNotFound(name) }
      return Self.project(row)
    }
  }

  public func deleteProject(named name: String, now: Date) async throws -> [String] {
    try await jobWrite { tx, revisions in
      guard try await Self.projectExists(tx, name) else { throw KilnError.projectNotFound(name) }
      let busy =
        try await tx.value(
          "SELECT COUNT(*) FROM job WHERE project = \(name) AND status NOT IN ('FINISHED', 'DISCARDED')", as: Int64.self)
        ?? 0
      guard busy == 0 else {
        throw KilnError(
          code: .failedPrecondition,
          message:
            "project \(name) has \(busy) job(s) that are PENDING, RUNNING, PAUSED or ERROR; discard them or let them finish first"
        )
      }
      var deleted: [String] = []
      for body in try await tx.rows(
        "SELECT body FROM job WHERE project = \(name) ORDER BY create_time, id", as: String.self)
      {
        let job = try JobCoding.decodeJob(body)
        try await self.deleteJob(tx, job, revision: revisions.next(), previousStatus: job.status, now: now)
        deleted.append(job.id)
      }
      try await tx.execute("DELETE FROM role_binding WHERE project = \(name)")
      try await tx.execute("DELETE FROM subject WHERE project = \(name)")
      try await tx.execute("DELETE FROM project WHERE name = \(name)")
      return deleted
    }
  }

  private static func project(_ row: (String, String, Int64, String, String?)) -> Project {
    Project(
      name: row.0, description: row.1, createTime: JobCoding.date(millis: row.2), creator: row.3, callbackURL: row.4)
  }

  // MARK: - Users and roles

  public func createUser(_ user: User) async throws {
    try await write { tx in
      guard try await Self.insertUser(tx, user) else {
        throw KilnError(code: .alreadyExists, message: "user \(user.name) already exists")
      }
    }
  }

  public func user(named name: String) async throws -> User? {
    try await read(consistent: true) { tx in try await Self.fetchUser(tx, name) }
  }

  public func users() async throws -> [User] {
    try await read(consistent: true) { tx in
      var roles: [String: [String: ProjectRole]] = [:]
      for (user, project, role) in try await tx.rows(
        "SELECT user_name, project, role FROM role_binding", as: (String, String, String).self)
      {
        if let role = ProjectRole(rawValue: role) { roles[user, default: [:]][project] = role }
      }
      return try await tx.rows(
        "SELECT name, is_admin, is_disabled, create_time FROM account ORDER BY name", as: (String, Bool, Bool, Int64).self
      ).map { Self.user($0, roles: roles[$0.0] ?? [:]) }
    }
  }

  public func setUserDisabled(_ name: String, disabled: Bool) async throws -> User {
    try await write { tx in
      if disabled {
        // The enabled ADMINs' rows stay locked to the commit: two ADMINs disabling each
        // other at once are serialized here, and the second sees the first's change.
        let enabledAdmins = try await tx.rows(
          "SELECT name FROM account WHERE is_admin AND NOT is_disabled ORDER BY name FOR UPDATE", as: String.self)
        if enabledAdmins == [name] { throw KilnError.lastEnabledAdmin(name) }
      }
      let changed = try await tx.rows(
        "UPDATE account SET is_disabled = \(disabled) WHERE name = \(name) RETURNING name", as: String.self)
      guard !changed.isEmpty, let user = try await Self.fetchUser(tx, name) else { throw Self.userNotFound(name) }
      return user
    }
  }

  public func grantRole(_ role: ProjectRole, user: String, project: String) async throws {
    try await write { tx in
      guard try await tx.value("SELECT 1::BIGINT FROM account WHERE name = \(user)", as: Int64.self) != nil else {
        throw Self.userNotFound(user)
      }
      guard try await Self.projectExists(tx, project) else { throw KilnError.projectNotFound(project) }
      try await tx.execute(
        """
        INSERT INTO role_binding (user_name, project, role) VALUES (\(user), \(project), \(role.rawValue))
        ON CONFLICT (user_name, project) DO UPDATE SET role = excluded.role
        """)
    }
  }

  public func revokeRole(user: String, project: String) async throws -> Bool {
    try await write { tx in
      !(try await tx.rows(
        "DELETE FROM role_binding WHERE user_name = \(user) AND project = \(project) RETURNING role", as: String.self
      ).isEmpty)
    }
  }

  /// Inserts a user; false when one of that name exists.
  private static func insertUser(_ tx: SQLConnection, _ user: User) async throws -> Bool {
    !(try await tx.rows(
      """
      INSERT INTO account (name, is_admin, is_disabled, create_time)
      VALUES (\(user.name), \(user.isAdmin), \(user.isDisabled), \(JobCoding.millis(user.createTime)))
      ON CONFLICT (name) DO NOTHING RETURNING name
      """, as: String.self
    ).isEmpty)
  }

  private static func fetchUser(_ tx: SQLConnection, _ name: String) async throws -> User? {
    guard
      let row = try await tx.first(
        "SELECT name, is_admin, is_disabled, create_time FROM account WHERE name = \(name)",
        as: (String, Bool, Bool, Int64).self)
    else { return nil }
    var roles: [String: ProjectRole] = [:]
    for (project, role) in try await tx.rows(
      "SELECT project, role FROM role_binding WHERE user_name = \(name)", as: (String, String).self)
    {
      if let role = ProjectRole(rawValue: role) { roles[project] = role }
    }
    return user(row, roles: roles)
  }

  private static func user(_ row: (String, Bool, Bool, Int64), roles: [String: ProjectRole]) -> User {
    User(name: row.0, isAdmin: row.1, isDisabled: row.2, createTime: JobCoding.date(millis: row.3), roles: roles)
  }

  private static func userNotFound(_ name: String) -> KilnError {
    KilnError(code: .notFound, message: "user \(name) not found")
  }

  // MARK: - Tokens

  static let tokenColumns = "id, user_name, description, create_time, expire_time, revoke_time"

  public func createToken(_ token: AccessToken, secretHash: String) async throws {
    try await write { tx in
      guard try await tx.value("SELECT 1::BIGINT FROM account WHERE name = \(token.user)", as: Int64.self) != nil else {
        throw Self.userNotFound(token.user)
      }
      try await Self.insertToken(tx, token, secretHash: secretHash)
    }
  }

  public func token(id: String) async throws -> AccessToken? {
    try await read { tx in
      try await tx.first(
        PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE id = $1", binds: Self.bindings(id)),
        as: (String, String, String, Int64, Int64?, Int64?).self
      ).map(Self.token)
    }
  }

  public func tokens(user: String) async throws -> [AccessToken] {
    try await read { tx in
      try await tx.rows(
        PostgresQuery(
          unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE user_name = $1 ORDER BY create_time DESC, id",
          binds: Self.bindings(user)),
        as: (String, String, String, Int64, Int64?, Int64?).self
      ).map(Self.token)
    }
  }

  public func revokeToken(id: String, now: Date) async throws -> AccessToken {
    try await write { tx in
      guard
        let row = try await tx.first(
          PostgresQuery(
            unsafeSQL:
              "UPDATE token SET revoke_time = COALESCE(revoke_time, $1) WHERE id = $2 RETURNING \(Self.tokenColumns)",
            binds: Self.bindings(JobCoding.millis(now), id)),
          as: (String, String, String, Int64, Int64?, Int64?).self)
      else { throw KilnError(code: .notFound, message: "token \(id) not found") }
      return Self.token(row)
    }
  }

  public func grant(secretHash: String) async throws -> TokenGrant? {
    try await read(consistent: true) { tx in
      guard
        let row = try await tx.first(
          PostgresQuery(
            unsafeSQL: "SELECT \(Self.tokenColumns) FROM token WHERE secret_hash = $1", binds: Self.bindings(secretHash)),
          as: (String, String, String, Int64, Int64?, Int64?).self)
      else { return nil }
      let token = Self.token(row)
      guard let user = try await Self.fetchUser(tx, token.user) else { return nil }
      return TokenGrant(token: token, user: user)
    }
  }

  public func bootstrap(admin: User, token: AccessToken, secretHash: String) async throws -> Bool {
    try await write { tx in
      // Replicas starting at once on an empty database: one bootstraps.
      try await tx.execute("LOCK TABLE account IN SHARE ROW EXCLUSIVE MODE")
      guard try await tx.value("SELECT 1::BIGINT FROM account LIMIT 1", as: Int64.self) == nil else { return false }
      _ = try await Self.insertUser(tx, admin)
      try await Self.insertToken(tx, token, secretHash: secretHash)
      return true
    }
  }

  private static func insertToken(_ tx: SQLConnection, _ token: AccessToken, secretHash: String) async throws {
    try await tx.execute(
      """
      INSERT INTO token (id, user_name, secret_hash, description, create_time, expire_time, revoke_time)
      VALUES (\(token.id), \(token.user), \(secretHash), \(token.description), \(JobCoding.millis(token.createTime)),
        \(token.expireTime.map(JobCoding.millis)), \(token.revokeTime.map(JobCoding.millis)))
      """)
  }

  private static func token(_ row: (String, String, String, Int64, Int64?, Int64?)) -> AccessToken {
    AccessToken(
      id: row.0, user: row.1, description: row.2, createTime: JobCoding.date(millis: row.3),
      expireTime: row.4.map(JobCoding.date(millis:)), revokeTime: row.5.map(JobCoding.date(millis:)))
  }

  // MARK: - Audit

  public func appendAudit(_ event: AuditEvent) async throws {
    try await read { tx in
      try await tx.execute(
        """
        INSERT INTO audit_event (time, actor, token_id, method, target_kind, target, project, code, message, peer)
        VALUES (\(JobCoding.millis(event.time)), \(event.actor), \(event.tokenID), \(event.method), \(event.targetKind),
          \(event.target), \(event.project), \(Int64(event.code)), \(event.message), \(event.peer))
        """)
    }
  }

  public func auditEvents(filter: AuditFilter, beforeID: Int64?, limit: Int) async throws -> [AuditEvent] {
    try await read { tx in
      var query = SQLBuilder(
        "SELECT id, time, actor, token_id, method, target_kind, target, project, code, message, peer FROM audit_event")
      var clauses: [String] = []
      if let beforeID { clauses.append("id < \(query.bind(beforeID))") }
      if let actor = filter.actor, !actor.isEmpty { clauses.append("actor = \(query.bind(actor))") }
      if let target = filter.target, !target.isEmpty { clauses.append("target = \(query.bind(target))") }
      if let project = filter.project, !project.isEmpty { clauses.append("project = \(query.bind(project))") }
      if let method = filter.method, !method.isEmpty { clauses.append("method = \(query.bind(method))") }
      if filter.failuresOnly { clauses.append("code != 0") }
      if let from = filter.from { clauses.append("time >= \(query.bind(JobCoding.millis(from)))") }
      if let to = filter.to { clauses.append("time < \(query.bind(JobCoding.millis(to)))") }
      if !clauses.isEmpty { query.append(" WHERE " + clauses.joined(separator: " AND ")) }
      query.append(" ORDER BY id DESC LIMIT \(query.bind(Int64(limit)))")
      var events: [AuditEvent] = []
      for try await row in try await tx.query(query.query) {
        let (id, time, actor, tokenID, method, targetKind, target, project, code, message, peer) = try row.decode(
          (Int64, Int64, String, String, String, String, String, String, Int64, String, String).self)
        events.append(
          AuditEvent(
            id: id, time: JobCoding.date(millis: time), actor: actor, tokenID: tokenID, method: method,
            targetKind: targetKind, target: target, project: project, code: Int(code), message: message, peer: peer))
      }
      return events
    }
  }

  static func bindings(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
    var binds = PostgresBindings()
    for value in values { binds.append(value) }
    return binds
  }
}
