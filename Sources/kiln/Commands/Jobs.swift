import ArgumentParser
import KilnClient

struct Jobs: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var filter: FilterOptions
  @Option(help: "Sort by create_time, update_time, duration, status, job_type, project or subject.")
  var sort = "create_time"
  @Flag(help: "Oldest or smallest first.") var ascending = false
  @Option(help: "Jobs per page (0: the server's default).") var limit = 0
  @Option(help: "Continue from a page token printed by a previous call.") var pageToken: String?
  @Flag(help: "Walk every page.") var all = false

  func run() async throws {
    guard let field = JobOrder.Field(rawValue: sort) else {
      throw ValidationError("--sort \(sort): one of \(JobOrder.Field.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    let jobFilter = try filter.filter()
    let order = JobOrder(field: field, ascending: ascending)
    try await reporting {
      try await global.connect { kiln in
        var jobs: [Job] = []
        var next: String?
        var total = 0
        if all {
          for try await job in kiln.allJobs(filter: jobFilter, order: order, pageSize: limit == 0 ? 200 : limit) {
            jobs.append(job)
          }
          total = jobs.count
        } else {
          let page = try await kiln.listJobs(filter: jobFilter, order: order, pageSize: limit, pageToken: pageToken)
          (jobs, next, total) = (page.jobs, page.nextPageToken, page.totalSize)
        }
        switch global.output {
        case .json:
          for job in jobs { printJSONLine(JobJSON(job)) }
        case .table:
          printJobs(jobs)
          print("\(jobs.count) of \(total) job(s)" + (next.map { "; next page: --page-token \($0)" } ?? ""))
        }
      }
    }
  }
}
