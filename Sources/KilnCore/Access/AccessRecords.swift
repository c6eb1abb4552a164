public import Foundation

/// A project: the unit of ownership of jobs.
public struct Project: Sendable, Hashable, Codable {
  /// The project's name (see ``Names/checkProject(_:field:)``).
  public var name: String
  /// What the project is for.
  public var description: String
  /// When it was created.
  public var createTime: Date
  /// Who created it.
  public var creator: String
  /// Receives a completion callback when any of the project's jobs ends.
  public var callbackURL: String?

  /// Creates a project.
  public init(name: String, description: String, createTime: Date, creator: String, callbackURL: String? = nil) {
    self.name = name
    self.description = description
    self.createTime = createTime
    self.creator = creator
    self.callbackURL = callbackURL
  }
}

/// A user of the server.
public struct User: Sendable, Hashable, Codable {
  /// The user's name (see ``Names/checkUser(_:field:)``).
  public var name: String
  /// A system administrator.
  public var isAdmin: Bool
  /// A disabled user's tokens are refused.
  public var isDisabled: Bool
  /// When the user was created.
  public var createTime: Date
  /// The user's role in each project they hold one in.
  public var roles: [String: ProjectRole]

  /// Creates a user.
  public init(name: String, isAdmin: Bool, isDisabled: Bool = false, createTime: Date, roles: [String: ProjectRole] = [:]) {
    self.name = name
    self.isAdmin = isAdmin
    self.isDisabled = isDisabled
    self.createTime = createTime
    self.roles = roles
  }
}

/// What the server keeps of a bearer token: everything but the secret.
public struct AccessToken: Sendable, Hashable, Codable {
  /// Names the token; not a secret.
  public var id: String
  /// Whose token it is.
  public var user: String
  /// What the token is for.
  public var description: String
  /// When it was created.
  public var createTime: Date
  /// When it stops working; `nil`: never.
  public var expireTime: Date?
  /// When it was revoked, if it was.
  public var revokeTime: Date?

  /// Creates a token record.
  public init(id: String, user: String, description: String, createTime: Date, expireTime: Date? = nil, revokeTime: Date? = nil) {
    self.id = id
    self.user = user
    self.description = description
    self.createTime = createTime
    self.expireTime = expireTime
    self.revokeTime = revokeTime
  }

  /// Whether the token works at `time`: not revoked and not expired.
  public func isActive(at time: Date) -> Bool {
    revokeTime == nil && (expireTime.map { time < $0 } ?? true)
  }
}

/// One mutating call in the audit trail: who, what, which target, when, and the result.
public struct AuditEvent: Sendable, Hashable, Codable {
  /// Increases with every event; assigned by the store.
  public var id: Int64
  /// When the call ended.
  public var time: Date
  /// The caller's user name; empty when the call had no valid token.
  public var actor: String
  /// The token used, if any.
  public var tokenID: String
  /// The full RPC name, e.g. `kiln.v1.JobService/PauseJob`.
  public var method: String
  /// What the call acted on: `job`, `jobs`, `project`, `user`, `role`, `token`.
  public var targetKind: String
  /// The job id, project name, user name or token id.
  public var target: String
  /// The project the target belongs to, when there is one.
  public var project: String
  /// The gRPC status code of the result (0: OK), as the trail stores it.
  public var code: Int
  /// The result as a Kiln error code; `nil` when the call succeeded.
  public var outcome: KilnError.Code? { code == 0 ? nil : KilnError.Code(grpcStatus: code) }
  /// The error message of a refused or failed call.
  public var message: String
  /// The client's address.
  public var peer: String

  /// Creates an event.
  public init(
    id: Int64 = 0, time: Date, actor: String, tokenID: String, method: String, targetKind: String, target: String,
    project: String, code: Int, message: String, peer: String
  ) {
    self.id = id
    self.time = time
    self.actor = actor
    self.tokenID = tokenID
    self.method = method
    self.targetKind = targetKind
    self.target = target
    self.project = project
    self.code = code
    self.message = message
    self.peer = peer
  }
}

/// Which audit events a listing covers. Each set field narrows it.
public struct AuditFilter: Sendable, Hashable, Codable {
  /// Only calls by this user.
  public var actor: String?
  /// Only this method, by full name (`kiln.v1.JobService/PauseJob`); the server also
  /// takes the last part (`PauseJob`).
  public var method: String?
  /// Only calls on this target.
  public var target: String?
  /// Only calls in this project.
  public var project: String?
  /// Only refused or failed calls.
  public var failuresOnly: Bool
  /// Only calls at or after this time.
  public var from: Date?
  /// Only calls before this time.
  public var to: Date?

  /// Creates a filter; with no arguments it matches every event.
  public init(
    actor: String? = nil, method: String? = nil, target: String? = nil, project: String? = nil,
    failuresOnly: Bool = false, from: Date? = nil, to: Date? = nil
  ) {
    self.actor = actor
    self.method = method
    self.target = target
    self.project = project
    self.failuresOnly = failuresOnly
    self.from = from
    self.to = to
  }
}
