public import Foundation

/// Which jobs a list, batch or watch covers. Each non-empty field narrows the set.
public struct JobFilter: Sendable, Hashable, Codable {
  /// Only jobs of these projects; empty means every project the caller may see.
  public var projects: [String]
  /// Only jobs in one of these statuses.
  public var statuses: [JobStatus]
  /// Only jobs of one of these types.
  public var jobTypes: [String]
  /// Only jobs on exactly this subject.
  public var subject: String?
  /// Only jobs whose id or subject contains this text (case-insensitive).
  public var key: String?
  /// Only jobs created at or after this time.
  public var createdFrom: Date?
  /// Only jobs created before this time.
  public var createdTo: Date?
  /// Only these jobs (used to watch one job; not part of the wire filter).
  public var ids: [String] = []
  /// Only jobs of these projects, whatever ``projects`` asks for; `nil`: no limit, empty:
  /// no job at all. Set from the caller's roles (``Caller/scope(_:operating:)``), never
  /// from the wire.
  public var allowedProjects: Set<String>?

  /// Creates a filter; with no arguments it matches every job.
  public init(
    projects: [String] = [], statuses: [JobStatus] = [], jobTypes: [String] = [], subject: String? = nil,
    key: String? = nil, createdFrom: Date? = nil, createdTo: Date? = nil
  ) {
    self.projects = projects
    self.statuses = statuses
    self.jobTypes = jobTypes
    self.subject = subject
    self.key = key
    self.createdFrom = createdFrom
    self.createdTo = createdTo
  }

  /// Whether `job` passes the filter. The store's SQL applies the same rules.
  public func matches(_ job: Job) -> Bool {
    if !ids.isEmpty && !ids.contains(job.id) { return false }
    if !projects.isEmpty && !projects.contains(job.project) { return false }
    if let allowedProjects, !allowedProjects.contains(job.project) { return false }
    if !statuses.isEmpty && !statuses.contains(job.status) { return false }
    if !jobTypes.isEmpty && !jobTypes.contains(job.jobType) { return false }
    if let subject, job.subject != subject { return false }
    if let key, !key.isEmpty {
      let needle = key.lowercased()
      if !job.id.lowercased().contains(needle) && !job.subject.lowercased().contains(needle) { return false }
    }
    if let createdFrom, job.createTime < createdFrom { return false }
    if let createdTo, job.createTime >= createdTo { return false }
    return true
  }

  /// Whether the filter selects by project and status alone (and the caller's
  /// visible projects): a store can answer how many jobs it selects from counts it
  /// keeps by project and status, without counting rows.
  public var selectsByProjectAndStatusOnly: Bool {
    jobTypes.isEmpty && subject == nil && (key ?? "").isEmpty && createdFrom == nil && createdTo == nil
      && ids.isEmpty
  }

  /// The same filter in a canonical form (sorted, de-duplicated lists), so that two
  /// filters that select the same jobs compare equal.
  public var normalized: JobFilter {
    var copy = self
    copy.projects = Array(Set(projects)).sorted()
    copy.statuses = Array(Set(statuses)).sorted { $0.rawValue < $1.rawValue }
    copy.jobTypes = Array(Set(jobTypes)).sorted()
    copy.ids = Array(Set(ids)).sorted()
    if copy.subject?.isEmpty == true { copy.subject = nil }
    if copy.key?.isEmpty == true { copy.key = nil }
    return copy
  }
}
