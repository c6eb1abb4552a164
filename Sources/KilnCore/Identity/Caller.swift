/// Who makes a request.
///
/// Until authentication lands every caller is ``anonymous``; the server resolves
/// the caller in one place (an interceptor) and hands it to the handlers.
public struct Caller: Sendable, Hashable, Codable {
  /// The user's name, recorded as the submitter of the jobs they create.
  public var name: String
  /// Whether the caller is a system administrator (sees every project).
  public var isAdmin: Bool

  /// Creates a caller.
  public init(name: String, isAdmin: Bool) {
    self.name = name
    self.isAdmin = isAdmin
  }

  /// The caller of a server that does not authenticate.
  public static let anonymous = Caller(name: "anonymous", isAdmin: true)
}
