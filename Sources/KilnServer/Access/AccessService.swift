public import Foundation
public import GRPCCore
import KilnCore
public import KilnAccess
public import KilnEngine
public import KilnProto
import KilnWire
import SwiftProtobuf
public import Logging

/// The `kiln.v1.AccessService` RPCs over the ``AccessManager`` (which ends the open
/// streams a revocation concerns).
public struct AccessService: Kiln_V1_AccessService.SimpleServiceProtocol {
  private let access: AccessManager
  private let audit: AuditTrail
  private let authenticationEnabled: Bool
  private let logger: Logger

  /// The most audit events one page holds.
  public static let maxAuditPageSize = 1000
  /// The audit page size when a request gives none.
  public static let defaultAuditPageSize = 100

  /// Creates the service.
  public init(
    access: AccessManager, audit: AuditTrail, authenticationEnabled: Bool, logger: Logger
  ) {
    self.access = access
    self.audit = audit
    self.authenticationEnabled = authenticationEnabled
    self.logger = logger
  }

  public func whoAmI(request: Kiln_V1_WhoAmIRequest, context: ServerContext) async throws -> Kiln_V1_WhoAmIResponse {
    let caller = try RequestContext.caller
    let user = try await access.currentUser(caller)
    return .with {
      $0.user = Kiln_V1_User(user)
      $0.tokenID = caller.tokenID ?? ""
      $0.authenticationEnabled = authenticationEnabled
    }
  }

  public func createUser(request: Kiln_V1_CreateUserRequest, context: ServerContext) async throws
    -> Kiln_V1_CreateUserResponse
  {
    let user = try await access.createUser(name: request.name, isAdmin: request.admin, caller: try RequestContext.caller)
    return .with { $0.user = Kiln_V1_User(user) }
  }

  public func listUsers(request: Kiln_V1_ListUsersRequest, context: ServerContext) async throws
    -> Kiln_V1_ListUsersResponse
  {
    let users = try await access.users(caller: try RequestContext.caller)
    return .with { $0.users = users.map(Kiln_V1_User.init) }
  }

  public func setUserDisabled(request: Kiln_V1_SetUserDisabledRequest, context: ServerContext) async throws
    -> Kiln_V1_SetUserDisabledResponse
  {
    let user = try await access.setUserDisabled(request.name, disabled: request.disabled, caller: try RequestContext.caller)
    return .with { $0.user = Kiln_V1_User(user) }
  }

  public func grantRole(request: Kiln_V1_GrantRoleRequest, context: ServerContext) async throws
    -> Kiln_V1_GrantRoleResponse
  {
    guard let role = request.role.domain else {
      throw KilnError.invalidArgument(
        field: "role", request.role == .unspecified ? "is unspecified" : "unknown role \(request.role.rawValue)")
    }
    try await access.grantRole(role, user: request.user, project: request.project, caller: try RequestContext.caller)
    return .with {
      $0.binding = .with {
        $0.user = request.user
        $0.project = request.project
        $0.role = role.wire
      }
    }
  }

  public func revokeRole(request: Kiln_V1_RevokeRoleRequest, context: ServerContext) async throws
    -> Kiln_V1_RevokeRoleResponse
  {
    try await access.revokeRole(user: request.user, project: request.project, caller: try RequestContext.caller)
    return Kiln_V1_RevokeRoleResponse()
  }

  public func createToken(request: Kiln_V1_CreateTokenRequest, context: ServerContext) async throws
    -> Kiln_V1_CreateTokenResponse
  {
    let ttl: Duration? = request.hasTtl ? try request.ttl.validatedDuration(field: "ttl") : nil
    let (token, secret) = try await access.createToken(
      user: request.user, description: request.description_p, ttl: ttl, caller: try RequestContext.caller)
    AuditNote.current?.target = token.id
    return .with {
      $0.token = Kiln_V1_Token(token)
      $0.secret = secret
    }
  }

  public func listTokens(request: Kiln_V1_ListTokensRequest, context: ServerContext) async throws
    -> Kiln_V1_ListTokensResponse
  {
    let tokens = try await access.tokens(
      user: request.user, includeInactive: request.includeInactive, caller: try RequestContext.caller)
    return .with { $0.tokens = tokens.map(Kiln_V1_Token.init) }
  }

  public func revokeToken(request: Kiln_V1_RevokeTokenRequest, context: ServerContext) async throws
    -> Kiln_V1_RevokeTokenResponse
  {
    let token = try await access.revokeToken(id: request.id, caller: try RequestContext.caller)
    return .with { $0.token = Kiln_V1_Token(token) }
  }

  public func listAuditEvents(request: Kiln_V1_ListAuditEventsRequest, context: ServerContext) async throws
    -> Kiln_V1_ListAuditEventsResponse
  {
    guard request.pageSize >= 0 else { throw KilnError.invalidArgument(field: "page_size", "is negative") }
    let size = request.pageSize == 0 ? Self.defaultAuditPageSize : min(Int(request.pageSize), Self.maxAuditPageSize)
    var before: Int64?
    if !request.pageToken.isEmpty {
      guard let id = Int64(request.pageToken), id > 0 else {
        throw KilnError.invalidArgument(field: "page_token", "is not a token this server gave")
      }
      before = id
    }
    var filter = try request.filter.domain(field: "filter")
    if let method = filter.method, !method.contains("/") {
      guard let full = AuditedMethods.fullNames.first(where: { $0.hasSuffix("/" + method) }) else {
        let known = AuditedMethods.fullNames.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.sorted()
        throw KilnError.invalidArgument(
          field: "filter.method", "\(method) is not an audited method; one of \(known.joined(separator: ", "))")
      }
      filter.method = full
    }
    let events = try await access.auditEvents(
      filter: filter, beforeID: before, limit: size + 1, caller: try RequestContext.caller)
    return .with {
      $0.events = events.prefix(size).map(Kiln_V1_AuditEvent.init)
      if events.count > size, let last = events.prefix(size).last { $0.nextPageToken = String(last.id) }
    }
  }
}
