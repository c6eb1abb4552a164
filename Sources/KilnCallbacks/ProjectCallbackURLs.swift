public import KilnCore
import Synchronization

/// The projects' callback URLs, kept in memory for ``CallbackTargets``: the callback
/// rule runs inside job transactions, where it must not read the database.
///
/// ``AccessManager`` loads it at start and updates it with every project change.
public final class ProjectCallbackURLs: Sendable {
  private let urls = Mutex<[String: String]>([:])

  /// An empty set of URLs.
  public init() {}

  /// The source to add to a job type's: the URL of the job's project, if it has one.
  public var targets: CallbackTargets {
    CallbackTargets { [self] job in url(of: job.project).map { [$0] } ?? [] }
  }

  /// The project's URL, if it has one.
  public func url(of project: String) -> String? {
    urls.withLock { $0[project] }
  }

  /// Replaces every URL with those of `projects`.
  public func load(_ projects: [Project]) {
    var loaded: [String: String] = [:]
    for project in projects { loaded[project.name] = project.callbackURL }
    urls.withLock { $0 = loaded }
  }

  /// Sets (or with `nil` removes) one project's URL.
  public func set(_ url: String?, for project: String) {
    urls.withLock { $0[project] = url }
  }
}
