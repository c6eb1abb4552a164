public import Foundation
public import KilnCore
import GRPCCore
import KilnProto
import KilnWire
import SwiftProtobuf

/// Who the client is, as the server sees it.
public struct Identity: Sendable, Hashable {
  /// The user, with their roles.
  public var user: User
  /// The token the calls are made with; `nil` on a server without authentication.
  public var tokenID: String?
  /// False on a server started with `--insecure-no-auth` (everyone is an ADMIN).
  public var authenticationEnabled: Bool
}

/// A token just created: its record and the secret, which the server never shows again.
public struct NewToken: Sendable, Hashable {
  /// The token's record.
  public var token: AccessToken
  /// The bearer token to send.
  public var secret: String
}

/// One page of the audit trail, newest first.
public struct AuditPage: Sendable, Hashable {
  /// The events.
  public var events: [AuditEvent]
  /// Pass to ``KilnClient/auditEvents(filter:pageSize:pageToken:)`` for the next page; `nil` at the end.
  public var nextPageToken: String?
}

extension KilnClient {
  // MARK: - Projects

  /// Creates a project (ADMIN).
  /// - Parameter callbackURL: Receives a JSON POST when any of the project's jobs ends.
  /// - Throws: ``KilnError``: already exists, invalid argument, permission denied.
  public func createProject(_ name: String, description: String = "", callbackURL: String? = nil)
    async throws(KilnError) -> Project
  {
    let response = try await call {
      try await projectService.createProject(
        .with {
          $0.name = name
          $0.description_p = description
          $0.callbackURL = callbackURL ?? ""
        }, options: callOptions())
    }
    return response.project.domain
  }

  /// Changes a project's description or callback URL (ADMIN); `nil` leaves a field as
  /// it is, an empty callback URL removes it.
  public func updateProject(_ name: String, description: String? = nil, callbackURL: String? = nil)
    async throws(KilnError) -> Project
  {
    let response = try await call {
      try await projectService.updateProject(
        .with {
          $0.name = name
          if let description { $0.description_p = description }
          if let callbackURL { $0.callbackURL = callbackURL }
        }, options: callOptions())
    }
    return response.project.domain
  }

  /// A project the caller holds a role in.
  /// - Throws: ``KilnError``: not found.
  public func project(_ name: String) async throws(KilnError) -> Project {
    try await call { try await projectService.getProject(.with { $0.name = name }, options: callOptions()) }.project.domain
  }

  /// The projects the caller holds a role in (every project for an ADMIN).
  public func projects() async throws(KilnError) -> [Project] {
    try await call { try await projectService.listProjects(.init(), options: callOptions()) }.projects.map(\.domain)
  }

  /// Deletes a project with its FINISHED and DISCARDED jobs (ADMIN).
  /// - Returns: How many jobs were deleted with it.
  /// - Throws: ``KilnError``: failed precondition while it has unfinished jobs; not found.
  public func deleteProject(_ name: String) async throws(KilnError) -> Int {
    Int(try await call { try await projectService.deleteProject(.with { $0.name = name }, options: callOptions()) }.deletedJobs)
  }

  // MARK: - Users and roles

  /// Who the client is.
  public func whoAmI() async throws(KilnError) -> Identity {
    let response = try await call { try await accessService.whoAmI(.init(), options: callOptions()) }
    return Identity(
      user: response.user.domain, tokenID: response.tokenID.isEmpty ? nil : response.tokenID,
      authenticationEnabled: response.authenticationEnabled)
  }

  /// Creates a user (ADMIN). Give them a role with ``grantRole(_:to:in:)`` and a token
  /// with ``createToken(for:description:ttl:)``.
  public func createUser(_ name: String, admin: Bool = false) async throws(KilnError) -> User {
    let response = try await call {
      try await accessService.createUser(
        .with {
          $0.name = name
          $0.admin = admin
        }, options: callOptions())
    }
    return response.user.domain
  }

  /// Every user, with their roles (ADMIN).
  public func users() async throws(KilnError) -> [User] {
    try await call { try await accessService.listUsers(.init(), options: callOptions()) }.users.map(\.domain)
  }

  /// Disables a user (ADMIN): their tokens are refused and their open watches end.
  /// The last enabled ADMIN cannot be disabled (failed precondition).
  @discardableResult
  public func disableUser(_ name: String) async throws(KilnError) -> User {
    try await setDisabled(true, user: name)
  }

  /// Enables a disabled user again (ADMIN): their tokens that are not revoked or
  /// expired work again.
  @discardableResult
  public func enableUser(_ name: String) async throws(KilnError) -> User {
    try await setDisabled(false, user: name)
  }

  private func setDisabled(_ disabled: Bool, user name: String) async throws(KilnError) -> User {
    let response = try await call {
      try await accessService.setUserDisabled(
        .with {
          $0.name = name
          $0.disabled = disabled
        }, options: callOptions())
    }
    return response.user.domain
  }

  /// Gives a user a role in a project, replacing the one they had (ADMIN).
  public func grantRole(_ role: ProjectRole, to user: String, in project: String) async throws(KilnError) {
    _ = try await call {
      try await accessService.grantRole(
        .with {
          $0.user = user
          $0.project = project
          $0.role = role.wire
        }, options: callOptions())
    }
  }

  /// Takes a user's role in a project away (ADMIN).
  public func revokeRole(from user: String, in project: String) async throws(KilnError) {
    _ = try await call {
      try await accessService.revokeRole(
        .with {
          $0.user = user
          $0.project = project
        }, options: callOptions())
    }
  }

  // MARK: - Tokens

  /// Creates a token for `user` (yourself when `nil`; others only as an ADMIN).
  /// - Parameter ttl: How long it works; `nil`: until revoked.
  public func createToken(for user: String? = nil, description: String = "", ttl: Duration? = nil)
    async throws(KilnError) -> NewToken
  {
    let request = Kiln_V1_CreateTokenRequest.with {
      $0.user = user ?? ""
      $0.description_p = description
      if let ttl { $0.ttl = Google_Protobuf_Duration(seconds: ttl.components.seconds, nanos: Int32(ttl.components.attoseconds / 1_000_000_000)) }
    }
    let response = try await call { try await accessService.createToken(request, options: callOptions()) }
    return NewToken(token: response.token.domain, secret: response.secret)
  }

  /// A user's tokens (yours when `nil`), newest first; revoked and expired ones only
  /// with `includeInactive`.
  public func tokens(of user: String? = nil, includeInactive: Bool = false) async throws(KilnError) -> [AccessToken] {
    try await call {
      try await accessService.listTokens(
        .with {
          $0.user = user ?? ""
          $0.includeInactive = includeInactive
        }, options: callOptions())
    }.tokens.map(\.domain)
  }

  /// Revokes a token (yours, or anyone's as an ADMIN); its open watches end.
  public func revokeToken(_ id: String) async throws(KilnError) -> AccessToken {
    try await call { try await accessService.revokeToken(.with { $0.id = id }, options: callOptions()) }.token.domain
  }

  // MARK: - Audit

  /// One page of the audit trail, newest first (ADMIN).
  /// - Parameter pageSize: 0 for the server's default (100); at most 1000.
  public func auditEvents(filter: AuditFilter = AuditFilter(), pageSize: Int = 0, pageToken: String? = nil)
    async throws(KilnError) -> AuditPage
  {
    let response = try await call {
      try await accessService.listAuditEvents(
        .with {
          $0.filter = Kiln_V1_AuditFilter(filter)
          $0.pageSize = Int32(clamping: pageSize)
          $0.pageToken = pageToken ?? ""
        }, options: callOptions())
    }
    return AuditPage(
      events: response.events.map(\.domain), nextPageToken: response.nextPageToken.isEmpty ? nil : response.nextPageToken)
  }
}
