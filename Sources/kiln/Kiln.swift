import ArgumentParser
import Foundation
import GRPCCore
import KilnClient
import KilnProto

/// `kiln`: the Kiln command line. The interactive shell builds on these commands.
@main
struct Kiln: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiln",
    abstract: "Operate Kiln jobs from the command line.",
    subcommands: [
      Submit.self, Jobs.self, Show.self, Operate.self, Types.self, Log.self, Watch.self,
    ])
}

/// Where the server is and how to reach it; `KILN_ADDR` (host:port), `KILN_TOKEN` and
/// `KILN_CA_FILE` set the defaults.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "The server's address as host:port (default: $KILN_ADDR or 127.0.0.1:7077).")
  var addr: String?

  @Option(name: .customLong("ca-file"), help: "Connect over TLS, trusting this PEM CA (default: $KILN_CA_FILE).")
  var caFile: String?

  func connect<R: Sendable>(_ body: (KilnClient) async throws -> R) async throws -> R {
    var configuration = try KilnClientConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
    if let addr { (configuration.host, configuration.port) = try KilnClientConfiguration.parseAddress(addr) }
    if let caFile { configuration.tls = ClientTLS(caFile: caFile) }
    return try await withKilnClient(configuration, body)
  }
}

func printJSON(_ message: some SwiftProtobuf.Message) throws {
  var options = JSONEncodingOptions()
  options.preserveProtoFieldNames = true
  print(try message.jsonString(options: options))
}

import SwiftProtobuf

struct Submit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Submit a job: kiln submit TYPE SUBJECT --project P [k=v ...]")
  @OptionGroup var connection: ConnectionOptions
  @Option(help: "The project.") var project = "default"
  @Argument(help: "The job type.") var jobType: String
  @Argument(help: "The subject.") var subject: String
  @Argument(help: "Parameters as key=value.") var params: [String] = []

  func run() async throws {
    var request = Kiln_V1_SubmitJobRequest()
    request.project = project
    request.jobType = jobType
    request.subject = subject
    for param in params {
      guard let eq = param.firstIndex(of: "=") else { throw ValidationError("\(param): expected key=value") }
      request.params[String(param[..<eq])] = String(param[param.index(after: eq)...])
    }
    request.requestID = UUID().uuidString
    let response = try await connection.connect { try await $0.jobService.submitJob(request) }
    try printJSON(response.job)
  }
}

struct Jobs: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List jobs.")
  @OptionGroup var connection: ConnectionOptions
  @Option(help: "Only this project (repeatable).") var project: [String] = []
  @Option(help: "Only this status (repeatable).") var status: [String] = []
  @Option(help: "Page size.") var limit: Int32 = 50

  func run() async throws {
    var request = Kiln_V1_ListJobsRequest()
    request.filter.projects = project
    request.filter.statuses = try status.map {
      guard let value = Kiln_V1_JobStatus(protoName: "JOB_STATUS_" + $0.uppercased()) else {
        throw ValidationError("--status \($0): unknown status")
      }
      return value
    }
    request.pageSize = limit
    let response = try await connection.connect { try await $0.jobService.listJobs(request) }
    for job in response.jobs {
      print([job.id, job.project, job.jobType, job.subject, "\(job.status)", "\(job.progress)%"].joined(separator: "\t"))
    }
  }
}

extension Kiln_V1_JobStatus {
  init?(protoName: String) {
    guard let match = Self.allCases.first(where: { "\($0)".uppercased() == protoName.replacingOccurrences(of: "JOB_STATUS_", with: "").uppercased() }) else { return nil }
    self = match
  }
}

struct Show: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "job", abstract: "Show one job with its steps.")
  @OptionGroup var connection: ConnectionOptions
  @Argument var id: String

  func run() async throws {
    let response = try await connection.connect { try await $0.jobService.getJob(.with { $0.id = id }) }
    try printJSON(response.job)
  }
}

struct Operate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "do", abstract: "Apply an action to jobs: kiln do pause|resume|restart|discard|delete ID...")
  @OptionGroup var connection: ConnectionOptions
  @Argument var action: String
  @Argument var ids: [String]

  func run() async throws {
    let actions: [String: Kiln_V1_JobAction] = [
      "pause": .pause, "resume": .resume, "restart": .restart, "discard": .discard, "delete": .delete,
    ]
    guard let value = actions[action.lowercased()] else { throw ValidationError("unknown action \(action)") }
    let response = try await connection.connect { client in
      try await client.jobService.batchJobs(.with {
        $0.action = value
        $0.ids = .with { $0.ids = ids }
        $0.requestID = UUID().uuidString
      })
    }
    for result in response.results {
      print(result.ok ? "\(result.id)\tok\t\(result.job.status)" : "\(result.id)\tfailed\t\(result.error.message)")
    }
    if response.failed > 0 { throw ExitCode(3) }
  }
}

struct Types: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the server's job types.")
  @OptionGroup var connection: ConnectionOptions

  func run() async throws {
    let response = try await connection.connect { try await $0.jobService.listJobTypes(.init()) }
    for type in response.jobTypes {
      print("\(type.name)\t\(type.steps.map(\.name).joined(separator: " → "))")
    }
  }
}

struct Log: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print a step's log: kiln log JOB STEP")
  @OptionGroup var connection: ConnectionOptions
  @Argument var job: String
  @Argument var step: String

  func run() async throws {
    try await connection.connect { client in
      var offset: Int64 = 0
      while true {
        let chunk = try await client.jobService.getStepLog(.with {
          $0.jobID = job
          $0.stepID = step
          $0.offset = offset
        })
        FileHandle.standardOutput.write(chunk.data)
        if chunk.data.isEmpty { break }
        offset = chunk.nextOffset
      }
    }
  }
}

struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print job changes as they happen, one line each: kind, revision, id, status, progress.")
  @OptionGroup var connection: ConnectionOptions
  @Option(help: "Only this project (repeatable).") var project: [String] = []
  @Option(help: "Resume after this revision instead of starting with a snapshot.") var since: Int64?
  @Flag(help: "Include progress-only changes.") var progress = false

  func run() async throws {
    var request = Kiln_V1_WatchJobsRequest()
    request.filter.projects = project
    if let since { request.sinceRevision = since }
    request.includeProgress = progress
    try await connection.connect { client in
      try await client.jobService.watchJobs(request) { response in
        for try await message in response.messages {
          var fields = ["\(message.kind)", String(message.revision)]
          if message.hasJob {
            fields += [message.job.id, "\(message.job.status)", "\(message.job.progress)%"]
          }
          print(fields.joined(separator: "\t"))
          fflush(nil)
        }
      }
    }
  }
}
