import Crypto
public import Foundation
public import KilnCallbacks
public import KilnCore
public import KilnEngine
public import KilnStore
public import Logging
import Synchronization

/// Projects, users, roles and tokens, and the rules of who may change them.
///
/// Creating and deleting projects and users and granting roles are for ADMINs; anyone
/// reads the projects they hold a role in and manages their own tokens. Things the
/// caller may not see are reported as not found, never as forbidden.
public final class AccessManager: Sendable {
  /// Where the records live.
  public let store: any AccessStore
  private let engine: JobEngine
  private let logger: Logger
  private let grants = Mutex(GrantCache())
  /// The projects' callback URLs as the engine's callback rule reads them.
  public let projectCallbacks: ProjectCallbackURLs

  /// Valid tokens already looked up, by secret hash, so that a call costs no database
  /// read. Every change that could make a grant stale (a revoked token, a disabled user,
  /// a role granted or revoked, a project deleted) goes through this manager, which then
  /// empties the cache; the generation keeps a lookup that raced with such a change
  /// from putting its stale answer back. Unknown tokens are never cached.
  private struct GrantCache {
    var generation: UInt64 = 0
    var entries: [String: TokenGrant] = [:]
    static let capacity = 10_000
  }

  /// Creates a manager over `store`; `engine` removes the logs of jobs deleted with a
  /// project; `projectCallbacks` is kept equal to the projects' callback URLs (call
  /// ``loadProjectCallbacks()`` once at start).
  public init(
    store: any AccessStore, engine: JobEngine, projectCallbacks: ProjectCallbackURLs = ProjectCallbackURLs(),
    logger: Logger
  ) {
    self.store = store
    self.engine = engine
    self.projectCallbacks = projectCallbacks
    self.logger = logger
  }

  /// The streams open with each user's tokens: a change of who may see what ends them.
  public let openStreams = OpenStreams()

  /// Reads every project's callback URL into ``projectCallbacks``.
  public func loadProjectCallbacks() async throws {
    projectCallbacks.load(try await store.projects(named: nil))
  }

  // MARK: - Authentication

  /// The caller a bearer token stands for, with their roles as of now.
  ///
  /// - Throws: ``KilnError`` (unauthenticated) for an unknown, expired or revoked token,
  ///   or one of a disabled user. The messages never say which tokens exist.
  public func authenticate(secret: String) async throws -> Caller {
    let hash = Self.hash(secret)
    let (cached, generation) = grants.withLock { ($0.entries[hash], $0.generation) }
    let grant: TokenGrant
    if let cached {
      grant = cached
    } else {
      guard let found = try await store.grant(secretHash: hash) else {
        throw KilnError(code: .unauthenticated, message: "the bearer token is not valid")
      }
      grant = found
      grants.withLock { cache in
        guard cache.generation == generation else { return }
        if cache.entries.count >= GrantCache.capacity { cache.entries.removeAll(keepingCapacity: true) }
        cache.entries[hash] = found
      }
    }
    let now = Date()
    if grant.token.revokeTime != nil {
      throw KilnError(code: .unauthenticated, message: "token \(grant.token.id) was revoked")
    }
    if let expiry = grant.token.expireTime, now >= expiry {
      throw KilnError(code: .unauthenticated, message: "token \(grant.token.id) expired")
    }
    if grant.user.isDisabled {
      throw KilnError(code: .unauthenticated, message: "user \(grant.user.name) is disabled")
    }
    return Caller(name: grant.user.name, isAdmin: grant.user.isAdmin, roles: grant.user.roles, tokenID: grant.token.id)
  }

  /// The project a new server starts with, so that the first job needs no set-up.
  public static let defaultProject = "default"

  /// Creates ``defaultProject`` if the server has no project at all.
  public func createDefaultProjectIfNone() async throws {
    guard try await store.projects(named: nil).isEmpty else { return }
    let project = Project(
      name: Self.defaultProject, description: "created at first start", createTime: .kilnNow(), creator: "kiln")
    do {
      try await store.createProject(project)
    } catch let error as KilnError where error.code == .alreadyExists {}
  }

  /// Forgets every cached grant; called after each change that can narrow one.
  private func invalidateGrants() {
    grants.withLock {
      $0.generation &+= 1
      $0.entries.removeAll(keepingCapacity: true)
    }
  }

  /// On a server without users: creates the ADMIN `admin` with a token, and writes the
  /// token to `tokenFile`, readable by its owner only.
  ///
  /// - Returns: Whether it did (false when users exist).
  public func bootstrap(tokenFile: URL) async throws -> Bool {
    guard try await store.users().isEmpty else { return false }
    let now = Date.kilnNow()
    let (token, secret) = Self.newToken(user: "admin", description: "created at first start", now: now, ttl: nil)
    // The file first: a crash before the commit leaves a stale file that the next
    // first start overwrites, never a committed token nobody can read.
    try Self.writePrivately(secret + "\n", to: tokenFile)
    let created = try await store.bootstrap(
      admin: User(name: "admin", isAdmin: true, createTime: now), token: token, secretHash: Self.hash(secret))
    if !created { try? FileManager.default.removeItem(at: tokenFile) }
    return created
  }

  // MARK: - Projects

  /// Creates a project (ADMIN).
  /// - Parameter callbackURL: Receives a callback when any of its jobs ends.
  public func createProject(name: String, description: String, callbackURL: String? = nil, caller: Caller) async throws
    -> Project
  {
    try requireAdmin(caller, to: "create projects")
    try Names.checkProject(name, field: "name")
    try Self.checkDescription(description)
    let url = callbackURL.flatMap { $0.isEmpty ? nil : $0 }
    if let url { try CallbackURL.validate(url, field: "callback_url") }
    let project = Project(name: name, description: description, createTime: .kilnNow(), creator: caller.name, callbackURL: url)
    try await store.createProject(project)
    projectCallbacks.set(url, for: name)
    logger.info("project created", metadata: ["project": "\(name)", "by": "\(caller.name)"])
    return project
  }

  /// The project, if the caller holds a role in it (or is an ADMIN).
  public func project(named name: String, caller: Caller) async throws -> Project {
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    guard caller.canView(name), let project = try await store.project(named: name) else {
      throw KilnError.projectNotFound(name)
    }
    return project
  }

  /// The projects the caller holds a role in (every project for an ADMIN).
  public func projects(caller: Caller) async throws -> [Project] {
    try await store.projects(named: caller.viewableProjects)
  }

  /// Changes a project's description or callback URL (ADMIN); `nil` leaves a field as it
  /// is, an empty callback URL removes it.
  public func updateProject(named name: String, description: String?, callbackURL: String?, caller: Caller) async throws
    -> Project
  {
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    try requireAdmin(caller, to: "change projects")
    if let description { try Self.checkDescription(description) }
    let url: String?? = callbackURL.map { $0.isEmpty ? nil : $0 }
    if let url, let url { try CallbackURL.validate(url, field: "callback_url") }
    let project = try await store.updateProject(named: name, description: description, callbackURL: url)
    projectCallbacks.set(project.callbackURL, for: name)
    return project
  }

  private static func checkDescription(_ description: String) throws(KilnError) {
    guard description.utf8.count <= 1024 else {
      throw KilnError.invalidArgument(field: "description", "is longer than 1024 bytes")
    }
  }

  /// Deletes a project with its role grants and its final jobs and their logs (ADMIN).
  /// - Returns: How many jobs were deleted with it.
  public func deleteProject(named name: String, caller: Caller) async throws -> Int {
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    try requireAdmin(caller, to: "delete projects")
    let deleted = try await store.deleteProject(named: name, now: .kilnNow())
    invalidateGrants()
    projectCallbacks.set(nil, for: name)
    for id in deleted { await engine.stepLogs.removeLogs(jobID: id) }
    logger.info("project deleted", metadata: ["project": "\(name)", "jobs": "\(deleted.count)", "by": "\(caller.name)"])
    return deleted.count
  }

  // MARK: - Users and roles

  /// Creates a user (ADMIN).
  public func createUser(name: String, isAdmin: Bool, caller: Caller) async throws -> User {
    try requireAdmin(caller, to: "create users")
    try Names.checkUser(name, field: "name")
    let user = User(name: name, isAdmin: isAdmin, createTime: .kilnNow())
    try await store.createUser(user)
    return user
  }

  /// The caller as a user record (roles included).
  public func currentUser(_ caller: Caller) async throws -> User {
    if let user = try await store.user(named: caller.name) { return user }
    // A server without authentication: the anonymous ADMIN has no record.
    return User(name: caller.name, isAdmin: caller.isAdmin, createTime: Date(timeIntervalSince1970: 0), roles: caller.roles)
  }

  /// Every user (ADMIN).
  public func users(caller: Caller) async throws -> [User] {
    try requireAdmin(caller, to: "list users")
    return try await store.users()
  }

  /// Disables or enables a user (ADMIN). The last enabled ADMIN cannot be disabled.
  public func setUserDisabled(_ name: String, disabled: Bool, caller: Caller) async throws -> User {
    try requireAdmin(caller, to: "disable users")
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    let user = try await store.setUserDisabled(name, disabled: disabled)
    invalidateGrants()
    if disabled { openStreams.endStreams(user: name, code: .unauthenticated, message: "user \(name) was disabled") }
    return user
  }

  /// Gives a user a role in a project (ADMIN).
  public func grantRole(_ role: ProjectRole, user: String, project: String, caller: Caller) async throws {
    try requireAdmin(caller, to: "grant roles")
    guard !user.isEmpty else { throw KilnError.invalidArgument(field: "user", "is empty") }
    guard !project.isEmpty else { throw KilnError.invalidArgument(field: "project", "is empty") }
    try await store.grantRole(role, user: user, project: project)
    invalidateGrants()
    // A narrower role must not keep streaming what it no longer covers.
    openStreams.endStreams(user: user, code: .unavailable, message: "the roles of \(user) changed; watch again")
  }

  /// Takes a user's role in a project away (ADMIN).
  /// - Throws: ``KilnError`` (not found) when the user held no role there.
  public func revokeRole(user: String, project: String, caller: Caller) async throws {
    try requireAdmin(caller, to: "revoke roles")
    guard !user.isEmpty else { throw KilnError.invalidArgument(field: "user", "is empty") }
    guard !project.isEmpty else { throw KilnError.invalidArgument(field: "project", "is empty") }
    guard try await store.revokeRole(user: user, project: project) else {
      throw KilnError(code: .notFound, message: "user \(user) holds no role in project \(project)")
    }
    invalidateGrants()
    openStreams.endStreams(user: user, code: .unavailable, message: "the roles of \(user) changed; watch again")
  }

  // MARK: - Tokens

  /// The longest life a token may be given.
  public static let maxTokenLife: Duration = .seconds(10 * 365 * 24 * 3600)

  /// Creates a token for `user` (the caller when `nil`; others' only for an ADMIN).
  /// - Returns: The token record and its secret, which is never shown again.
  public func createToken(user: String?, description: String, ttl: Duration?, caller: Caller) async throws
    -> (token: AccessToken, secret: String)
  {
    let owner = (user?.isEmpty ?? true) ? caller.name : user!
    if owner != caller.name { try requireAdmin(caller, to: "create tokens for other users") }
    guard description.utf8.count <= 256 else { throw KilnError.invalidArgument(field: "description", "is longer than 256 bytes") }
    if let ttl, ttl <= .zero || ttl > Self.maxTokenLife {
      throw KilnError.invalidArgument(field: "ttl", "must be positive and at most 10 years")
    }
    let (token, secret) = Self.newToken(user: owner, description: description, now: .kilnNow(), ttl: ttl)
    try await store.createToken(token, secretHash: Self.hash(secret))
    logger.info("token created", metadata: ["token": "\(token.id)", "user": "\(owner)", "by": "\(caller.name)"])
    return (token, secret)
  }

  /// A user's tokens (the caller's when `nil`; others' only for an ADMIN), newest first.
  public func tokens(user: String?, includeInactive: Bool, caller: Caller) async throws -> [AccessToken] {
    let owner = (user?.isEmpty ?? true) ? caller.name : user!
    if owner != caller.name { try requireAdmin(caller, to: "list other users' tokens") }
    let now = Date()
    return try await store.tokens(user: owner).filter { includeInactive || $0.isActive(at: now) }
  }

  /// Revokes a token: the caller's own, or anyone's for an ADMIN.
  /// - Throws: ``KilnError`` (not found) for an unknown token or another user's.
  public func revokeToken(id: String, caller: Caller) async throws -> AccessToken {
    try InputLimits.checkID(id, field: "id")
    guard let token = try await store.token(id: id), caller.isAdmin || token.user == caller.name else {
      throw KilnError(code: .notFound, message: "token \(id) not found")
    }
    let revoked = try await store.revokeToken(id: id, now: .kilnNow())
    invalidateGrants()
    openStreams.endStreams(tokenID: id, message: "token \(id) was revoked")
    logger.info("token revoked", metadata: ["token": "\(id)", "by": "\(caller.name)"])
    return revoked
  }

  // MARK: - Audit

  /// Appends to the audit trail; a failure is logged, never thrown at the audited call.
  ///
  /// Its text fields are cut to bounded lengths first (the message to 1 KiB, the others
  /// to 256 bytes): a refused request's oversized field would otherwise be stored in
  /// full, and make the trail itself too large to read back.
  public func record(_ event: AuditEvent) async {
    var event = event
    for field in [\AuditEvent.actor, \.tokenID, \.method, \.targetKind, \.target, \.project, \.peer] {
      event[keyPath: field] = event[keyPath: field].bounded(toBytes: 256)
    }
    event.message = event.message.bounded(toBytes: 1024)
    do {
      try await store.appendAudit(event)
    } catch {
      logger.error("could not write the audit trail", metadata: ["method": "\(event.method)", "error": "\(error)"])
    }
  }

  /// Audit events, newest first (ADMIN).
  public func auditEvents(filter: AuditFilter, beforeID: Int64?, limit: Int, caller: Caller) async throws -> [AuditEvent] {
    try requireAdmin(caller, to: "read the audit trail")
    return try await store.auditEvents(filter: filter, beforeID: beforeID, limit: limit)
  }

  // MARK: - Helpers

  /// Refuses a non-ADMIN caller with permission denied.
  public func requireAdmin(_ caller: Caller, to what: String) throws(KilnError) {
    guard caller.isAdmin else {
      throw KilnError(code: .permissionDenied, message: "only an ADMIN may \(what); \(caller.name) is not one")
    }
  }

  /// The SHA-256 of a token's secret, in hex: what the store keeps and looks up.
  static func hash(_ secret: String) -> String {
    SHA256.hash(data: Data(secret.utf8)).lowercaseHex
  }

  /// A new token: an id, and a secret of 256 random bits.
  static func newToken(user: String, description: String, now: Date, ttl: Duration?) -> (AccessToken, String) {
    let id = "t-" + randomBytes(6).lowercaseHex
    let secret = "kiln_" + Data(randomBytes(32)).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
    let expiry = ttl.map { now.addingTimeInterval(Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) }
    return (AccessToken(id: id, user: user, description: description, createTime: now, expireTime: expiry), secret)
  }

  private static func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
  }

  /// Writes `text` to a new file that only its owner may read (mode 0600), atomically.
  static func writePrivately(_ text: String, to url: URL) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid())")
    unlink(temporary.path)
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0 else {
      unlink(temporary.path)
      throw POSIXError(.EIO)
    }
    guard rename(temporary.path, url.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  }
}
