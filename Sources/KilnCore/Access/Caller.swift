/// Who makes a request, and what they may see and do.
///
/// The server resolves the caller once per call (from its bearer token) and hands it
/// to the engine, which applies ``canView(_:)`` and ``canOperate(_:)`` to every job it
/// reads or changes for that call.
public struct Caller: Sendable, Hashable, Codable {
  /// The user's name, recorded as the submitter of the jobs they create.
  public var name: String
  /// Whether the caller is a system administrator (every project, every operation).
  public var isAdmin: Bool
  /// The caller's role in each project they hold one in.
  public var roles: [String: ProjectRole]
  /// The token the call was made with, if any.
  public var tokenID: String?

  /// Creates a caller.
  public init(name: String, isAdmin: Bool, roles: [String: ProjectRole] = [:], tokenID: String? = nil) {
    self.name = name
    self.isAdmin = isAdmin
    self.roles = roles
    self.tokenID = tokenID
  }

  /// The caller of a server that does not authenticate: an ADMIN.
  public static let anonymous = Caller(name: "anonymous", isAdmin: true)

  /// The server itself (scheduler, retention, embedding code): an ADMIN.
  public static let system = Caller(name: "system", isAdmin: true)

  /// Whether the caller may read, watch and follow the logs of the project's jobs.
  public func canView(_ project: String) -> Bool {
    isAdmin || roles[project] != nil
  }

  /// Whether the caller may submit and operate the project's jobs.
  public func canOperate(_ project: String) -> Bool {
    isAdmin || roles[project] == .operator
  }

  /// The projects whose jobs the caller may see; `nil` for every project.
  public var viewableProjects: Set<String>? {
    isAdmin ? nil : Set(roles.keys)
  }

  /// The projects whose jobs the caller may operate; `nil` for every project.
  public var operableProjects: Set<String>? {
    isAdmin ? nil : Set(roles.filter { $0.value == .operator }.keys)
  }

  /// Checks that the caller may act on a job of `project`.
  ///
  /// - Throws: ``KilnError``: `notFound` (from `notFound`) when the caller may not even
  ///   see the project, so that its jobs do not seem to exist; `permissionDenied` when
  ///   they only view it.
  public func checkOperate(_ project: String, notFound: @autoclosure () -> KilnError) throws(KilnError) {
    guard canView(project) else { throw notFound() }
    guard canOperate(project) else {
      throw KilnError(
        code: .permissionDenied,
        message: "\(name) is a VIEWER of project \(project); operating its jobs needs OPERATOR")
    }
  }

  /// `filter` narrowed to the projects the caller may see (`operating`: operate).
  public func scope(_ filter: JobFilter, operating: Bool = false) -> JobFilter {
    guard let allowed = operating ? operableProjects : viewableProjects else { return filter }
    var scoped = filter
    scoped.allowedProjects = scoped.allowedProjects.map { $0.intersection(allowed) } ?? allowed
    return scoped
  }
}

/// A user's role in one project.
public enum ProjectRole: String, Sendable, Hashable, Codable, CaseIterable {
  /// Reads, watches and follows logs of the project's jobs.
  case viewer = "VIEWER"
  /// A viewer who also submits and operates the project's jobs.
  case `operator` = "OPERATOR"
}
