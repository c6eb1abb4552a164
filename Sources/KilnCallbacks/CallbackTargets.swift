public import KilnCore

/// Where the completion-callback URLs of a job come from: the seam for each source
/// of URLs (the job's type today; its project's settings can be added with
/// ``adding(_:)``).
///
/// The resolver runs inside the write transaction of the status change that
/// triggers the callbacks, so it must be quick and must do no I/O: a source backed
/// by the database keeps an in-memory copy (for example, of the projects' URLs).
public struct CallbackTargets: Sendable {
  private let resolve: @Sendable (Job) -> [String]

  /// A source that resolves a job's URLs with `resolve`.
  public init(_ resolve: @escaping @Sendable (Job) -> [String]) {
    self.resolve = resolve
  }

  /// The URLs to notify about `job`, each once, in the order the sources give them.
  public func urls(for job: Job) -> [String] {
    var seen = Set<String>()
    return resolve(job).filter { seen.insert($0).inserted }
  }

  /// The `callback_url` of the job's type in `catalog`, if it has one.
  public static func jobTypes(_ catalog: JobTypeCatalog) -> CallbackTargets {
    CallbackTargets { job in catalog.type(named: job.jobType)?.callbackURL.map { [$0] } ?? [] }
  }

  /// No callbacks at all.
  public static let none = CallbackTargets { _ in [] }

  /// This source's URLs followed by `other`'s.
  public func adding(_ other: CallbackTargets) -> CallbackTargets {
    CallbackTargets { job in self.resolve(job) + other.resolve(job) }
  }
}
