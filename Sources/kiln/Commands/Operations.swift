import ArgumentParser
import Foundation
import KilnClient

/// What an operation acts on: ids, or a filter ("select all").
struct SelectionOptions: ParsableArguments {
  @Argument(help: "The jobs' ids.") var ids: [String] = []
  @OptionGroup var filter: FilterOptions
  @Flag(name: .customLong("all-projects"), help: "Select every job the filter matches in every project (ADMIN).")
  var allProjects = false
  @Flag(name: [.short, .long], help: "Do not ask for confirmation.") var yes = false
  @Option(help: "With one id: refuse unless the job is at this revision.") var expectedRevision: Int64?

  func validate() throws {
    if !ids.isEmpty && (!filter.isEmpty || allProjects) {
      throw ValidationError("give job ids or a filter, not both")
    }
    if ids.isEmpty && filter.isEmpty && !allProjects {
      throw ValidationError("give job ids, a filter (--status, --project, --type, --subject, --key) or --all-projects")
    }
    if expectedRevision != nil && ids.count != 1 {
      throw ValidationError("--expected-revision goes with exactly one job id")
    }
  }
}

/// Runs one operation over a selection, asking for confirmation where it is destructive
/// or touches several jobs.
func operate(_ action: JobAction, _ global: GlobalOptions, _ selection: SelectionOptions) async throws {
  let filter = try selection.filter.filter()
  try await global.connect { kiln in
    let count =
      selection.ids.isEmpty ? try await kiln.listJobs(filter: filter, pageSize: 1).totalSize : selection.ids.count
    let batch = !selection.ids.isEmpty ? selection.ids.count > 1 : true
    if (batch || action == .discard || action == .delete) && !selection.yes {
      try confirm("\(action.verb) \(count) job(s)?", count: count)
    }
    if !batch, let id = selection.ids.first {
      let job = try await kiln.perform(action, onJob: id, expectedRevision: selection.expectedRevision)
      if let job { printJob(job, global.output) } else if global.output == .table { print("deleted \(id)") }
      return
    }
    let outcome =
      selection.ids.isEmpty
      ? try await kiln.batch(action, matching: filter) : try await kiln.batch(action, ids: selection.ids)
    printBatch(outcome, global.output)
    if outcome.failed > 0 { throw ExitCode(65) }
  }
}

/// Asks on the terminal; without one, refuses unless `--yes` was given.
func confirm(_ question: String, count: Int) throws {
  guard stdinIsTerminal else {
    throw ValidationError("this touches \(count) job(s); add --yes to confirm")
  }
  FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
  let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
  guard answer == "y" || answer == "yes" else { throw ExitCode(1) }
}

func printBatch(_ outcome: BatchOutcome, _ format: OutputFormat) {
  struct ItemJSON: Encodable {
    var id: String
    var ok: Bool
    var status: String?
    var error_code: String?
    var error_message: String?
  }
  switch format {
  case .json:
    for item in outcome.items {
      switch item.result {
      case .success(let job): printJSONLine(ItemJSON(id: item.id, ok: true, status: job?.status.rawValue))
      case .failure(let error):
        printJSONLine(ItemJSON(id: item.id, ok: false, error_code: error.code.description, error_message: error.message))
      }
    }
  case .table:
    printTable(
      ["ID", "RESULT", "DETAIL"],
      outcome.items.map { item in
        switch item.result {
        case .success(let job): [item.id, "ok", job?.status.rawValue ?? "deleted"]
        case .failure(let error): [item.id, "refused", error.message]
        }
      })
    print("\(outcome.succeeded) succeeded, \(outcome.failed) refused")
  }
}

struct Pause: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Pause jobs: their running step is stopped.")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var selection: SelectionOptions
  func run() async throws { try await reporting { try await operate(.pause, global, selection) } }
}

struct Resume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Resume PAUSED or ERROR jobs at their first unfinished step.")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var selection: SelectionOptions
  func run() async throws { try await reporting { try await operate(.resume, global, selection) } }
}

struct Restart: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Restart jobs from their first step, as a new attempt.")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var selection: SelectionOptions
  func run() async throws { try await reporting { try await operate(.restart, global, selection) } }
}

struct Discard: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Discard jobs for good (asks first; --yes skips).")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var selection: SelectionOptions
  func run() async throws { try await reporting { try await operate(.discard, global, selection) } }
}

struct Delete: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Delete FINISHED or DISCARDED jobs (asks first; --yes skips).")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var selection: SelectionOptions
  func run() async throws { try await reporting { try await operate(.delete, global, selection) } }
}
