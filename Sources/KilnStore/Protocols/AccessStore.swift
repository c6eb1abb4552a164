public import Foundation
public import KilnCore

/// A user and token found by a token's secret hash, for authenticating one call.
public struct TokenGrant: Sendable, Hashable {
  /// The token.
  public var token: AccessToken
  /// Its user, with their roles.
  public var user: User

  /// Creates a grant.
  public init(token: AccessToken, user: User) {
    self.token = token
    self.user = user
  }
}

/// Where projects, users, roles, tokens and the audit trail live.
///
/// Like ``JobStore``, each method is one transaction and holds no rules beyond the
/// data's own integrity (names unique, a role names an existing user and project,
/// a project with unfinished jobs stays).
public protocol AccessStore: Sendable {
  /// Adds a project.
  /// - Throws: ``KilnError`` (already exists).
  func createProject(_ project: Project) async throws

  /// The project with this name, if any.
  func project(named name: String) async throws -> Project?

  /// The projects named in `names` (every project when `nil`), by name.
  func projects(named names: Set<String>?) async throws -> [Project]

  /// Changes what is given of a project's description and callback URL (`.some(nil)`
  /// removes the URL).
  /// - Throws: ``KilnError`` (not found).
  func updateProject(named name: String, description: String?, callbackURL: String??) async throws -> Project

  /// Deletes a project, its role bindings, its subjects and its FINISHED and DISCARDED
  /// jobs (each with a deleted event), in one transaction.
  /// - Returns: The ids of the deleted jobs.
  /// - Throws: ``KilnError``: not found; failed precondition while any of its jobs is
  ///   not final.
  func deleteProject(named name: String, now: Date) async throws -> [String]

  /// Adds a user.
  /// - Throws: ``KilnError`` (already exists).
  func createUser(_ user: User) async throws

  /// The user with this name, with their roles.
  func user(named name: String) async throws -> User?

  /// Every user, with their roles, by name.
  func users() async throws -> [User]

  /// Disables or enables a user, refusing, in the same transaction, to disable the last
  /// enabled ADMIN.
  /// - Throws: ``KilnError``: not found; failed precondition (``KilnError/lastEnabledAdmin(_:)``).
  func setUserDisabled(_ name: String, disabled: Bool) async throws -> User

  /// Gives a user a role in a project, replacing the one they had.
  /// - Throws: ``KilnError`` (not found: the user or the project).
  func grantRole(_ role: ProjectRole, user: String, project: String) async throws

  /// Takes a user's role in a project away.
  /// - Returns: Whether the user had one.
  func revokeRole(user: String, project: String) async throws -> Bool

  /// Adds a token, found later by the SHA-256 of its secret.
  /// - Throws: ``KilnError`` (not found: the user).
  func createToken(_ token: AccessToken, secretHash: String) async throws

  /// The token with this id, if any.
  func token(id: String) async throws -> AccessToken?

  /// A user's tokens, newest first.
  func tokens(user: String) async throws -> [AccessToken]

  /// Marks a token revoked at `now` (a revoked token stays revoked at its first time).
  /// - Throws: ``KilnError`` (not found).
  func revokeToken(id: String, now: Date) async throws -> AccessToken

  /// The token with this secret hash and its user with their roles, if any.
  func grant(secretHash: String) async throws -> TokenGrant?

  /// Creates `admin` and its token if the server has no user yet.
  /// - Returns: Whether it did.
  func bootstrap(admin: User, token: AccessToken, secretHash: String) async throws -> Bool

  /// Appends an event to the audit trail.
  func appendAudit(_ event: AuditEvent) async throws

  /// Audit events matching `filter`, newest first, with ids below `beforeID`, at most `limit`.
  func auditEvents(filter: AuditFilter, beforeID: Int64?, limit: Int) async throws -> [AuditEvent]
}
