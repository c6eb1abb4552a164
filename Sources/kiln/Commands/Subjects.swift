import ArgumentParser
import Foundation
import KilnClient

/// A subject as `-o json` prints it: the wire's field names, times in ISO 8601.
struct SubjectJSON: Encodable {
  var project: String
  var name: String
  var kind: String
  var schema: String
  var attributes: [String: String]
  var version: Int64
  var create_time: Date
  var update_time: Date
  var creator: String

  init(_ subject: Subject) {
    project = subject.project
    name = subject.name
    kind = subject.kind
    schema = subject.schema
    attributes = subject.attributes
    version = subject.version
    create_time = subject.createTime
    update_time = subject.updateTime
    creator = subject.creator
  }
}

/// `kiln subjects [--project P]`.
struct Subjects: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List subjects: what jobs work on.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "Only this project's subjects (default: every project you hold a role in).") var project: String?

  func run() async throws {
    try await reporting {
      let subjects = try await global.connect { try await $0.subjects(project: project) }
      switch global.output {
      case .json: for subject in subjects { printJSONLine(SubjectJSON(subject)) }
      case .table:
        printTable(
          ["PROJECT", "NAME", "KIND", "VERSION", "UPDATED", "ATTRIBUTES"],
          subjects.map {
            [
              $0.project, $0.name, $0.kind.isEmpty ? "-" : $0.kind, "v\($0.version)", formatTime($0.updateTime),
              formatAttributes($0.attributes),
            ]
          })
      }
    }
  }
}

/// Which subject a `kiln subject` command acts on.
struct SubjectTarget: ParsableArguments {
  @Argument(help: "The subject's name.") var name: String
  @Option(help: "The project.") var project = "default"
}

/// `kiln subject create|show|update|delete NAME --project P`.
struct SubjectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "subject",
    abstract: "Create, show, update or delete a subject.",
    discussion: """
      A job names a subject of its project. Updating a subject's schema or attributes bumps \
      its version, and deleting it removes it: either way every PENDING, RUNNING, PAUSED or \
      ERROR job on it is discarded, with the reason in its status_reason.
      """,
    subcommands: [Create.self, Show.self, Update.self, Delete.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a subject at version 1.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SubjectTarget
    @Option(help: "What kind of thing it is (e.g. model, table).") var kind = ""
    @Option(help: "The schema, as text.") var schema = ""
    @Option(name: .customLong("attr"), help: ArgumentHelp("An attribute (repeatable).", valueName: "key=value"))
    var attributes: [String] = []

    func run() async throws {
      let attributes = try parseParams(attributes)
      try await reporting {
        let subject = try await global.connect { kiln in
          try await kiln.createSubject(
            target.name, project: target.project, kind: kind, schema: schema, attributes: attributes)
        }
        printSubject(subject, global.output)
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a subject.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SubjectTarget

    func run() async throws {
      try await reporting {
        let subject = try await global.connect { try await $0.subject(target.name, project: target.project) }
        printSubject(subject, global.output)
      }
    }
  }

  struct Update: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Change a subject's schema or attributes: a change bumps its version and discards its unfinished jobs.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SubjectTarget
    @Option(help: "The new schema.") var schema: String?
    @Option(name: .customLong("attr"), help: ArgumentHelp("Set an attribute (repeatable).", valueName: "key=value"))
    var attributes: [String] = []
    @Option(name: .customLong("unset-attr"), help: ArgumentHelp("Remove an attribute (repeatable).", valueName: "key"))
    var removed: [String] = []
    @Option(help: "Refuse unless the subject is at this version.") var expectedVersion: Int64?

    func validate() throws {
      if schema == nil && attributes.isEmpty && removed.isEmpty {
        throw ValidationError("give --schema, --attr or --unset-attr")
      }
    }

    func run() async throws {
      let attributes = try parseParams(attributes)
      try await reporting {
        let change = try await global.connect { kiln in
          try await kiln.updateSubject(
            target.name, project: target.project, schema: schema, setAttributes: attributes, removeAttributes: removed,
            expectedVersion: expectedVersion)
        }
        if let subject = change.subject { printSubject(subject, global.output) }
        printDiscarded(change, global.output)
      }
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a subject and discard its unfinished jobs (asks first; --yes skips).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: SubjectTarget
    @Flag(name: [.short, .long], help: "Do not ask for confirmation.") var yes = false
    @Option(help: "Refuse unless the subject is at this version.") var expectedVersion: Int64?

    func run() async throws {
      try await reporting {
        try await global.connect { kiln in
          if !yes {
            let open = try await kiln.listJobs(
              filter: JobFilter(projects: [target.project], statuses: [.pending, .running, .paused, .error], subject: target.name),
              pageSize: 1
            ).totalSize
            try confirm(
              "delete subject \(target.name) of project \(target.project) and discard its \(open) unfinished job(s)?",
              count: open)
          }
          let change = try await kiln.deleteSubject(target.name, project: target.project, expectedVersion: expectedVersion)
          if global.output == .table { print("deleted subject \(target.name)") }
          printDiscarded(change, global.output)
        }
      }
    }
  }
}

private func formatAttributes(_ attributes: [String: String]) -> String {
  attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
}

/// One subject in detail, or one JSON object.
private func printSubject(_ subject: Subject, _ format: OutputFormat) {
  switch format {
  case .json: printJSONLine(SubjectJSON(subject))
  case .table:
    printTable(
      ["FIELD", "VALUE"],
      [
        ["project", subject.project], ["name", subject.name], ["kind", subject.kind.isEmpty ? "-" : subject.kind],
        ["version", "v\(subject.version)"], ["creator", subject.creator],
        ["created", formatTime(subject.createTime)], ["updated", formatTime(subject.updateTime)],
        ["attributes", formatAttributes(subject.attributes)],
        ["schema", subject.schema.isEmpty ? "-" : subject.schema],
      ])
  }
}

/// The jobs a subject change discarded: a line for people, or one JSON object.
private func printDiscarded(_ change: SubjectChange, _ format: OutputFormat) {
  struct DiscardedJSON: Encodable { var discarded_job_ids: [String] }
  switch format {
  case .json: printJSONLine(DiscardedJSON(discarded_job_ids: change.discardedJobIDs))
  case .table:
    print("discarded \(change.discardedJobIDs.count) job(s)\(change.discardedJobIDs.isEmpty ? "" : ": ")"
      + change.discardedJobIDs.joined(separator: " "))
  }
}
