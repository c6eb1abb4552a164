public import Foundation
public import KilnCore
public import KilnProto
import SwiftProtobuf

// Projects, users, tokens and audit events between the domain and the wire, both
// ways: the server sends what the SDK reads.

extension ProjectRole {
  /// The wire value of this role.
  public var wire: Kiln_V1_Role {
    switch self {
    case .viewer: .viewer
    case .operator: .operator
    }
  }
}

extension Kiln_V1_Role {
  /// The domain role, or `nil` for `unspecified` and values this build does not know.
  public var domain: ProjectRole? {
    switch self {
    case .viewer: .viewer
    case .operator: .operator
    default: nil
    }
  }
}

extension Kiln_V1_Project {
  /// The wire form of a project.
  public init(_ project: Project) {
    self.init()
    name = project.name
    description_p = project.description
    createTime = Google_Protobuf_Timestamp(date: project.createTime)
    creator = project.creator
    callbackURL = project.callbackURL ?? ""
  }

  /// The domain form.
  public var domain: Project {
    Project(
      name: name, description: description_p, createTime: createTime.date, creator: creator,
      callbackURL: callbackURL.isEmpty ? nil : callbackURL)
  }
}

extension Kiln_V1_User {
  /// The wire form of a user, roles sorted by project.
  public init(_ user: User) {
    self.init()
    name = user.name
    admin = user.isAdmin
    disabled = user.isDisabled
    createTime = Google_Protobuf_Timestamp(date: user.createTime)
    roles = user.roles.sorted { $0.key < $1.key }.map { project, role in
      .with {
        $0.user = user.name
        $0.project = project
        $0.role = role.wire
      }
    }
  }

  /// The domain form (roles of unknown kinds are left out).
  public var domain: User {
    var byProject: [String: ProjectRole] = [:]
    for binding in roles { if let role = binding.role.domain { byProject[binding.project] = role } }
    return User(name: name, isAdmin: admin, isDisabled: disabled, createTime: createTime.date, roles: byProject)
  }
}

extension Kiln_V1_Token {
  /// The wire form of a token record.
  public init(_ token: AccessToken) {
    self.init()
    id = token.id
    user = token.user
    description_p = token.description
    createTime = Google_Protobuf_Timestamp(date: token.createTime)
    if let expiry = token.expireTime { expireTime = Google_Protobuf_Timestamp(date: expiry) }
    if let revoked = token.revokeTime { revokeTime = Google_Protobuf_Timestamp(date: revoked) }
  }

  /// The domain form.
  public var domain: AccessToken {
    AccessToken(
      id: id, user: user, description: description_p, createTime: createTime.date,
      expireTime: hasExpireTime ? expireTime.date : nil, revokeTime: hasRevokeTime ? revokeTime.date : nil)
  }
}

extension Kiln_V1_AuditEvent {
  /// The wire form of an audit event.
  public init(_ event: AuditEvent) {
    self.init()
    id = event.id
    time = Google_Protobuf_Timestamp(date: event.time)
    actor = event.actor
    tokenID = event.tokenID
    method = event.method
    targetKind = event.targetKind
    target = event.target
    project = event.project
    code = Int32(event.code)
    message = event.message
    peer = event.peer
  }

  /// The domain form.
  public var domain: AuditEvent {
    AuditEvent(
      id: id, time: time.date, actor: actor, tokenID: tokenID, method: method, targetKind: targetKind, target: target,
      project: project, code: Int(code), message: message, peer: peer)
  }
}

extension Kiln_V1_AuditFilter {
  /// The wire form of an audit filter.
  public init(_ filter: AuditFilter) {
    self.init()
    actor = filter.actor ?? ""
    method = filter.method ?? ""
    target = filter.target ?? ""
    project = filter.project ?? ""
    failuresOnly = filter.failuresOnly
    if let from = filter.from { timeFrom = Google_Protobuf_Timestamp(date: from) }
    if let to = filter.to { timeTo = Google_Protobuf_Timestamp(date: to) }
  }

  /// The domain form.
  ///
  /// - Parameter field: The request field holding the filter, for errors.
  /// - Throws: ``KilnError`` INVALID_ARGUMENT for a time outside protobuf's range.
  public func domain(field: String) throws(KilnError) -> AuditFilter {
    AuditFilter(
      actor: actor.isEmpty ? nil : actor, method: method.isEmpty ? nil : method, target: target.isEmpty ? nil : target,
      project: project.isEmpty ? nil : project, failuresOnly: failuresOnly,
      from: hasTimeFrom ? try timeFrom.validatedDate(field: "\(field).time_from") : nil,
      to: hasTimeTo ? try timeTo.validatedDate(field: "\(field).time_to") : nil)
  }
}
