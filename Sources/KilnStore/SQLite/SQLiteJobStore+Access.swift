public import Foundation
import GRDB
public import KilnCore

extension SQLiteJobStore: AccessStore {
  // MARK: - Projects

  public func createProject(_ project: Project) async throws {
    try await writer.write { db in
      guard try !Self.exists(db, "SELECT 1 FROM project WHERE name = ?", [project.name]) else {
        throw KilnError(code: .alreadyExists, message: "project \(project.name) already exists")
      }
      try db.execute(
        sql: "INSERT INTO project (name, description, create_time, creator, callback_url) VALUES (?, ?, ?, ?, ?)",
        arguments: [
          project.name, project.description, JobCoding.millis(project.createTime), project.creator, project.callbackURL,
        ])
    }
  }

  public func project(named name: String) async throws -> Project? {
    try await writer.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM project WHERE name = ?", arguments: [name]).map(Self.project)
    }
  }

  public func projects(named names: Set<String>?) async throws -> [Project] {
    try await writer.read { db in
      guard let names else {
        return try Row.fetchAll(db, sql: "SELECT * FROM project ORDER BY name").map(Self.project)
      }
      guard !names.isEmpty else { return [] }
      let marks = Array(repeating: "?", count: names.count).joined(separator: ", ")
      return try Row.fetchAll(
        db, sql: "SELECT * FROM project WHERE name IN (\(marks)) ORDER BY name",
        arguments: StatementArguments(names.sorted())
      ).map(Self.project)
    }
  }

  public func updateProject(named name: String, description: String?, callbackURL: String??) async throws -> Project {
    try await writer.write { db in
      if let description {
        try db.execute(sql: "UPDATE project SET description = ? WHERE name = ?", arguments: [description, name])
      }
      if let callbackURL {
        try db.execute(sql: "UPDATE project SET callback_url = ? WHERE name = ?", arguments: [callbackURL, name])
      }
      guard let row = try Row.fetchOne(db, sql: "SELECT * FROM project WHERE name = ?", arguments: [name]) else {
        throw KilnError.projectNotFound(name)
      }
      return Self.project(row)
    }
  }

  public func deleteProject(named name: String, now: Date) async throws -> [String] {
    try await notifyingCommit { db in
      guard try Self.exists(db, "SELECT 1 FROM project WHERE name = ?", [name]) else {
        throw KilnError.projectNotFound(name)
      }
      // job_project_create serves both queries.
      let busy = try Int.fetchOne(
        db, sql: "SELECT COUNT(*) FROM job WHERE project = ? AND status NOT IN ('FINISHED', 'DISCARDED')",
        arguments: [name]) ?? 0
      guard busy == 0 else {
        throw KilnError(
          code: .failedPrecondition,
          message: "project \(name) has \(busy) job(s) that are PENDING, RUNNING, PAUSED or ERROR; discard them or let them finish first")
      }
      let bodies = try String.fetchAll(db, sql: "SELECT body FROM job WHERE project = ? ORDER BY create_time, id", arguments: [name])
      var deleted: [String] = []
      for body in bodies {
        let job = try JobCoding.decodeJob(body)
        try self.deleteJob(db, job, previousStatus: job.status, now: now)
        deleted.append(job.id)
      }
      try db.execute(sql: "DELETE FROM role_binding WHERE project = ?", arguments: [name])
      try db.execute(sql: "DELETE FROM subject WHERE project = ?", arguments: [name])
      try db.execute(sql: "DELETE FROM project WHERE name = ?", arguments: [name])
      return deleted
    }
  }

  static func projectExists(_ db: Database, _ name: String) throws -> Bool {
    try exists(db, "SELECT 1 FROM project WHERE name = ?", [name])
  }

  private static func project(_ row: Row) -> Project {
    Project(
      name: row["name"], description: row["description"], createTime: JobCoding.date(millis: row["create_time"]),
      creator: row["creator"], callbackURL: row["callback_url"])
  }

  // MARK: - Users and roles

  public func createUser(_ user: User) async throws {
    try await writer.write { db in
      guard try !Self.exists(db, "SELECT 1 FROM account WHERE name = ?", [user.name]) else {
        throw KilnError(code: .alreadyExists, message: "user \(user.name) already exists")
      }
      try Self.insertUser(db, user)
    }
  }

  public func user(named name: String) async throws -> User? {
    try await writer.read { db in try Self.fetchUser(db, name) }
  }

  public func users() async throws -> [User] {
    try await writer.read { db in
      let roles = try Self.rolesByUser(db)
      return try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY name").map {
        Self.user($0, roles: roles[$0["name"] as String] ?? [:])
      }
    }
  }

  public func setUserDisabled(_ name: String, disabled: Bool) async throws -> User {
    try await writer.write { db in
      // Checked in the write transaction itself: two ADMINs disabling each other at
      // once cannot both pass a check made before it.
      if disabled {
        let enabledAdmins = try String.fetchAll(
          db, sql: "SELECT name FROM account WHERE is_admin AND NOT is_disabled ORDER BY name LIMIT 2")
        if enabledAdmins == [name] { throw KilnError.lastEnabledAdmin(name) }
      }
      try db.execute(sql: "UPDATE account SET is_disabled = ? WHERE name = ?", arguments: [disabled, name])
      guard db.changesCount > 0, let user = try Self.fetchUser(db, name) else { throw Self.userNotFound(name) }
      return user
    }
  }

  public func grantRole(_ role: ProjectRole, user: String, project: String) async throws {
    try await writer.write { db in
      guard try Self.exists(db, "SELECT 1 FROM account WHERE name = ?", [user]) else { throw Self.userNotFound(user) }
      guard try Self.projectExists(db, project) else {
        throw KilnError.projectNotFound(project)
      }
      try db.execute(
        sql: "REPLACE INTO role_binding (user_name, project, role) VALUES (?, ?, ?)",
        arguments: [user, project, role.rawValue])
    }
  }

  public func revokeRole(user: String, project: String) async throws -> Bool {
    try await writer.write { db in
      try db.execute(sql: "DELETE FROM role_binding WHERE user_name = ? AND project = ?", arguments: [user, project])
      return db.changesCount > 0
    }
  }

  private static func insertUser(_ db: Database, _ user: User) throws {
    try db.execute(
      sql: "INSERT INTO account (name, is_admin, is_disabled, create_time) VALUES (?, ?, ?, ?)",
      arguments: [user.name, user.isAdmin, user.isDisabled, JobCoding.millis(user.createTime)])
  }

  private static func fetchUser(_ db: Database, _ name: String) throws -> User? {
    guard let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE name = ?", arguments: [name]) else {
      return nil
    }
    return user(row, roles: try roles(db, user: name))
  }

  private static func roles(_ db: Database, user: String) throws -> [String: ProjectRole] {
    var roles: [String: ProjectRole] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT project, role FROM role_binding WHERE user_name = ?", arguments: [user]) {
      if let role = ProjectRole(rawValue: row["role"]) { roles[row["project"]] = role }
    }
    return roles
  }

  private static func rolesByUser(_ db: Database) throws -> [String: [String: ProjectRole]] {
    var roles: [String: [String: ProjectRole]] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT user_name, project, role FROM role_binding") {
      if let role = ProjectRole(rawValue: row["role"]) { roles[row["user_name"], default: [:]][row["project"]] = role }
    }
    return roles
  }

  private static func user(_ row: Row, roles: [String: ProjectRole]) -> User {
    User(
      name: row["name"], isAdmin: row["is_admin"], isDisabled: row["is_disabled"],
      createTime: JobCoding.date(millis: row["create_time"]), roles: roles)
  }

  private static func userNotFound(_ name: String) -> KilnError {
    KilnError(code: .notFound, message: "user \(name) not found")
  }

  // MARK: - Tokens

  public func createToken(_ token: AccessToken, secretHash: String) async throws {
    try await writer.write { db in
      guard try Self.exists(db, "SELECT 1 FROM account WHERE name = ?", [token.user]) else {
        throw Self.userNotFound(token.user)
      }
      try Self.insertToken(db, token, secretHash: secretHash)
    }
  }

  public func token(id: String) async throws -> AccessToken? {
    try await writer.read { db in
      try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(Self.token)
    }
  }

  public func tokens(user: String) async throws -> [AccessToken] {
    try await writer.read { db in
      try Row.fetchAll(
        db, sql: "SELECT * FROM token WHERE user_name = ? ORDER BY create_time DESC, id", arguments: [user]
      ).map(Self.token)
    }
  }

  public func revokeToken(id: String, now: Date) async throws -> AccessToken {
    try await writer.write { db in
      try db.execute(
        sql: "UPDATE token SET revoke_time = COALESCE(revoke_time, ?) WHERE id = ?", arguments: [JobCoding.millis(now), id])
      guard let row = try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]) else {
        throw KilnError(code: .notFound, message: "token \(id) not found")
      }
      return Self.token(row)
    }
  }

  public func grant(secretHash: String) async throws -> TokenGrant? {
    try await writer.read { db in
      guard let row = try Row.fetchOne(db, sql: "SELECT * FROM token WHERE secret_hash = ?", arguments: [secretHash]) else {
        return nil
      }
      let token = Self.token(row)
      guard let user = try Self.fetchUser(db, token.user) else { return nil }
      return TokenGrant(token: token, user: user)
    }
  }

  public func bootstrap(admin: User, token: AccessToken, secretHash: String) async throws -> Bool {
    try await writer.write { db in
      guard try !Self.exists(db, "SELECT 1 FROM account", []) else { return false }
      try Self.insertUser(db, admin)
      try Self.insertToken(db, token, secretHash: secretHash)
      return true
    }
  }

  private static func insertToken(_ db: Database, _ token: AccessToken, secretHash: String) throws {
    try db.execute(
      sql: """
        INSERT INTO token (id, user_name, secret_hash, description, create_time, expire_time, revoke_time)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        token.id, token.user, secretHash, token.description, JobCoding.millis(token.createTime),
        token.expireTime.map(JobCoding.millis), token.revokeTime.map(JobCoding.millis),
      ])
  }

  private static func token(_ row: Row) -> AccessToken {
    AccessToken(
      id: row["id"], user: row["user_name"], description: row["description"],
      createTime: JobCoding.date(millis: row["create_time"]),
      expireTime: (row["expire_time"] as Int64?).map(JobCoding.date(millis:)),
      revokeTime: (row["revoke_time"] as Int64?).map(JobCoding.date(millis:)))
  }

  // MARK: - Audit

  public func appendAudit(_ event: AuditEvent) async throws {
    try await writer.write { db in
      try db.execute(
        sql: """
          INSERT INTO audit_event (time, actor, token_id, method, target_kind, target, project, code, message, peer)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          JobCoding.millis(event.time), event.actor, event.tokenID, event.method, event.targetKind, event.target,
          event.project, event.code, event.message, event.peer,
        ])
    }
  }

  public func auditEvents(filter: AuditFilter, beforeID: Int64?, limit: Int) async throws -> [AuditEvent] {
    try await writer.read { db in
      var clauses: [String] = []
      var arguments = StatementArguments()
      func add(_ clause: String, _ values: [any DatabaseValueConvertible]) {
        clauses.append(clause)
        _ = arguments.append(contentsOf: StatementArguments(values))
      }
      if let beforeID { add("id < ?", [beforeID]) }
      if let actor = filter.actor, !actor.isEmpty { add("actor = ?", [actor]) }
      if let target = filter.target, !target.isEmpty { add("target = ?", [target]) }
      if let project = filter.project, !project.isEmpty { add("project = ?", [project]) }
      if let method = filter.method, !method.isEmpty { add("method = ?", [method]) }
      if filter.failuresOnly { add("code != 0", []) }
      if let from = filter.from { add("time >= ?", [JobCoding.millis(from)]) }
      if let to = filter.to { add("time < ?", [JobCoding.millis(to)]) }
      let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
      _ = arguments.append(contentsOf: [limit])
      return try Row.fetchAll(
        db, sql: "SELECT * FROM audit_event \(whereSQL) ORDER BY id DESC LIMIT ?", arguments: arguments
      ).map { row in
        AuditEvent(
          id: row["id"], time: JobCoding.date(millis: row["time"]), actor: row["actor"], tokenID: row["token_id"],
          method: row["method"], targetKind: row["target_kind"], target: row["target"], project: row["project"],
          code: row["code"], message: row["message"], peer: row["peer"])
      }
    }
  }

  // MARK: - Helpers

  static func exists(_ db: Database, _ sql: String, _ arguments: [any DatabaseValueConvertible]) throws -> Bool {
    try Row.fetchOne(db, sql: sql + " LIMIT 1", arguments: StatementArguments(arguments)) != nil
  }
}
