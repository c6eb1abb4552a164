import ArgumentParser
import KilnClient

/// The ListJobs filter as flags, shared by `jobs`, `watch` and the batch forms of the operations.
struct FilterOptions: ParsableArguments {
  @Option(name: .customLong("project"), help: "Only this project (repeatable).")
  var projects: [String] = []

  @Option(name: .customLong("status"), help: "Only this status (repeatable): pending, running, paused, error, discarded, finished.")
  var statuses: [String] = []

  @Option(name: .customLong("type"), help: "Only this job type (repeatable).")
  var types: [String] = []

  @Option(help: "Only jobs on this subject.")
  var subject: String?

  @Option(help: "Only jobs whose id or subject contains this text.")
  var key: String?

  /// Whether any flag narrows the selection.
  var isEmpty: Bool { projects.isEmpty && statuses.isEmpty && types.isEmpty && subject == nil && key == nil }

  func filter() throws -> JobFilter {
    JobFilter(
      projects: projects,
      statuses: try statuses.map {
        guard let status = JobStatus(name: $0) else {
          throw ValidationError("--status \($0): one of pending, running, paused, error, discarded, finished")
        }
        return status
      }, jobTypes: types, subject: subject, key: key)
  }
}
