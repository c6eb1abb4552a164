public import Foundation
public import KilnCore

/// One page of a job list.
public struct JobPage: Sendable, Hashable {
  /// The jobs on this page.
  public var jobs: [Job]
  /// Pass to ``KilnClient/listJobs(filter:order:pageSize:pageToken:)`` for the next page; `nil` at the end.
  public var nextPageToken: String?
  /// How many jobs match the filter over all pages.
  public var totalSize: Int
  /// The revision the page is consistent at: ``KilnClient/watchJobs(filter:includeProgress:since:)``
  /// from it follows every later change with no gap (list, then watch).
  public var revision: Int64
}

/// The outcome of a batch for one job.
public struct BatchItem: Sendable, Hashable {
  /// The job's id.
  public var id: String
  /// The job after the action (`nil` after a delete), or why it was refused.
  public var result: Result<Job?, KilnError>

  /// Whether the action was applied.
  public var succeeded: Bool {
    if case .success = result { return true }
    return false
  }
}

/// The outcome of a batch: one item per selected job, in selection order.
public struct BatchOutcome: Sendable, Hashable {
  /// One item per job.
  public var items: [BatchItem]
  /// How many jobs the action was applied to.
  public var succeeded: Int
  /// How many jobs refused it.
  public var failed: Int
}

/// A job type the server offers.
public struct JobTypeInfo: Sendable, Hashable {
  /// A step of the type.
  public struct StepInfo: Sendable, Hashable {
    /// The step's name.
    public var name: String
    /// `sleep` or `exec`.
    public var kind: String
    /// How many times a failed execution is retried.
    public var maxRetries: Int
  }

  /// A parameter of the type.
  public struct ParamInfo: Sendable, Hashable {
    /// The parameter's name.
    public var name: String
    /// Whether a submission must give it.
    public var required: Bool
    /// The value used when a submission does not give one.
    public var defaultValue: String?
    /// What it means.
    public var description: String
  }

  /// The type's name, e.g. `INDEX_BUILD`.
  public var name: String
  /// What the type does.
  public var description: String
  /// Its steps, in order.
  public var steps: [StepInfo]
  /// The parameters it reads.
  public var params: [ParamInfo]
  /// Where a job of this type is reported when it ends (FINISHED, ERROR, DISCARDED), if anywhere.
  public var callbackURL: String?
}

/// A chunk of a step's log.
public struct StepLogChunk: Sendable, Hashable {
  /// The bytes.
  public var data: Data
  /// Where to read on from.
  public var nextOffset: Int64
  /// True when the step no longer runs and this is the end of its log.
  public var complete: Bool
}
