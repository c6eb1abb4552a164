import ArgumentParser
import KilnClient

struct Submit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Submit a job: kiln submit TYPE SUBJECT [key=value ...] --project P")
  @OptionGroup var global: GlobalOptions
  @Option(help: "The project.") var project = "default"
  @Argument(help: "The job type (see `kiln types`).") var jobType: String
  @Argument(help: "What the job works on.") var subject: String
  @Argument(help: "Parameters as key=value.") var params: [String] = []

  func run() async throws {
    let params = try parseParams(params)
    try await reporting {
      let job = try await global.connect { kiln in
        try await kiln.submitJob(project: project, type: jobType, subject: subject, params: params)
      }
      switch global.output {
      case .table: print(job.id)
      case .json: printJSONLine(JobJSON(job))
      }
    }
  }
}
