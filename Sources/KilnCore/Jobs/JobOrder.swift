/// The order of a job list. Ties are broken by job id in the same direction,
/// so that every order is total and pages never overlap.
public struct JobOrder: Sendable, Hashable, Codable {
  /// The field jobs are sorted by.
  public enum Field: String, Sendable, Hashable, Codable, CaseIterable {
    case createTime = "create_time"
    case updateTime = "update_time"
    case duration = "duration"
    case status = "status"
    case jobType = "job_type"
    case project = "project"
    case subject = "subject"
  }

  /// The field jobs are sorted by.
  public var field: Field
  /// Smallest first when true; largest (newest) first when false.
  public var ascending: Bool

  /// Creates an order; the default is newest first, as an operator console shows jobs.
  public init(field: Field = .createTime, ascending: Bool = false) {
    self.field = field
    self.ascending = ascending
  }
}

/// Where a page of a job list starts.
public struct JobPageCursor: Sendable, Hashable, Codable {
  /// The sort value of the last job of the previous page, as stored.
  public var lastValue: JobSortValue
  /// The id of the last job of the previous page.
  public var lastID: String

  /// Creates a cursor.
  public init(lastValue: JobSortValue, lastID: String) {
    self.lastValue = lastValue
    self.lastID = lastID
  }
}

/// A sort value: an integer (times, durations, status ranks) or a text.
public enum JobSortValue: Sendable, Hashable, Codable {
  case integer(Int64)
  case text(String)
}

/// One page of a job list.
public struct JobPage: Sendable, Hashable {
  /// The jobs on this page.
  public var jobs: [Job]
  /// Where the next page starts; `nil` at the end.
  public var next: JobPageCursor?
  /// How many jobs match the filter over all pages.
  public var totalCount: Int
  /// The revision the page is consistent at: it reflects every change up to this
  /// revision and none after, so a watch from it misses nothing (list, then watch).
  public var revision: Int64

  /// Creates a page.
  public init(jobs: [Job], next: JobPageCursor?, totalCount: Int, revision: Int64 = 0) {
    self.jobs = jobs
    self.next = next
    self.totalCount = totalCount
    self.revision = revision
  }
}
