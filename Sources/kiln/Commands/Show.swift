import ArgumentParser
import KilnClient

struct Show: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "job", abstract: "Show one job with its steps.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "The job's id.") var id: String

  func run() async throws {
    try await reporting {
      let job = try await global.connect { try await $0.job(id) }
      printJob(job, global.output)
    }
  }
}

struct Types: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the job types the server offers.")
  @OptionGroup var global: GlobalOptions

  func run() async throws {
    struct TypeJSON: Encodable {
      var name: String
      var description: String
      var steps: [String]
      var params: [String]
    }
    try await reporting {
      let types = try await global.connect { try await $0.jobTypes() }
      switch global.output {
      case .json:
        for type in types {
          printJSONLine(
            TypeJSON(
              name: type.name, description: type.description, steps: type.steps.map(\.name),
              params: type.params.map(\.name)))
        }
      case .table:
        printTable(
          ["TYPE", "STEPS", "PARAMS"],
          types.map {
            [
              $0.name, $0.steps.map(\.name).joined(separator: " → "),
              $0.params.map { $0.required ? "\($0.name)*" : $0.name }.joined(separator: " "),
            ]
          })
      }
    }
  }
}
