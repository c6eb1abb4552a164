import ArgumentParser
import Foundation
import KilnClient

/// A project as `-o json` prints it.
struct ProjectJSON: Encodable {
  var name: String
  var description: String
  var create_time: Date
  var creator: String
  var callback_url: String?
  var role: String?

  init(_ project: Project, role: String? = nil) {
    name = project.name
    description = project.description
    create_time = project.createTime
    creator = project.creator
    callback_url = project.callbackURL
    self.role = role
  }
}

struct Projects: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the projects you hold a role in (every project for an ADMIN), with your role.")
  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reporting {
      let (projects, me) = try await global.connect { kiln in (try await kiln.projects(), try await kiln.whoAmI()) }
      func role(_ project: Project) -> String {
        me.user.isAdmin ? "ADMIN" : me.user.roles[project.name]?.rawValue ?? ""
      }
      switch global.output {
      case .json:
        for project in projects { printJSONLine(ProjectJSON(project, role: role(project))) }
      case .table:
        printTable(
          ["PROJECT", "YOUR ROLE", "CREATED", "CREATOR", "DESCRIPTION"],
          projects.map { [$0.name, role($0), formatTime($0.createTime), $0.creator, $0.description] })
      }
    }
  }
}

struct ProjectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "project", abstract: "Create, show or delete a project.",
    subcommands: [Create.self, Show.self, Update.self, Delete.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a project (ADMIN).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Letters, digits, '_', '-' and '.'.") var name: String
    @Option(help: "What the project is for.") var description = ""
    @Option(help: "An http(s) URL that receives a JSON POST when any of the project's jobs ends.")
    var callbackURL: String?

    func run() async throws {
      try await reporting {
        let project = try await global.connect {
          try await $0.createProject(name, description: description, callbackURL: callbackURL)
        }
        switch global.output {
        case .json: printJSONLine(ProjectJSON(project))
        case .table: print("created project \(project.name)")
        }
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a project.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The project's name.") var name: String

    func run() async throws {
      try await reporting {
        let project = try await global.connect { try await $0.project(name) }
        switch global.output {
        case .json: printJSONLine(ProjectJSON(project))
        case .table:
          printTable(
            ["PROJECT", "CREATED", "CREATOR", "CALLBACK", "DESCRIPTION"],
            [[project.name, formatTime(project.createTime), project.creator, project.callbackURL ?? "", project.description]])
        }
      }
    }
  }

  struct Update: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change a project's description or callback URL (ADMIN).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The project's name.") var name: String
    @Option(help: "The new description.") var description: String?
    @Option(help: "The new callback URL; \"\" removes it.") var callbackURL: String?

    func validate() throws {
      if description == nil && callbackURL == nil { throw ValidationError("give --description or --callback-url") }
    }

    func run() async throws {
      try await reporting {
        let project = try await global.connect {
          try await $0.updateProject(name, description: description, callbackURL: callbackURL)
        }
        switch global.output {
        case .json: printJSONLine(ProjectJSON(project))
        case .table: print("updated project \(project.name)")
        }
      }
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a project with its FINISHED and DISCARDED jobs and its role grants (ADMIN).",
      discussion: "Refused while any of its jobs is PENDING, RUNNING, PAUSED or ERROR.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The project's name.") var name: String
    @Flag(name: [.short, .long], help: "Do not ask for confirmation.") var yes = false

    func run() async throws {
      try await reporting {
        try await global.connect { kiln in
          if !yes {
            let jobs = try await kiln.listJobs(filter: JobFilter(projects: [name]), pageSize: 1).totalSize
            try confirm("delete project \(name) and its \(jobs) job(s)?", count: jobs)
          }
          let deleted = try await kiln.deleteProject(name)
          switch global.output {
          case .json: printJSONLine(["project": name, "deleted_jobs": String(deleted)])
          case .table: print("deleted project \(name) and \(deleted) job(s)")
          }
        }
      }
    }
  }
}

/// Parses `90s`, `15m`, `12h`, `30d` (or plain seconds).
func parseDuration(_ text: String, option: String) throws -> Duration {
  let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
  var number = Substring(text)
  var unit: Int64 = 1
  if let last = text.last, let multiplier = units[last] {
    number = text.dropLast()
    unit = multiplier
  }
  guard let value = Double(number), value > 0, value.isFinite else {
    throw ValidationError("\(option) \(text): a positive duration such as 90s, 15m, 12h or 30d")
  }
  return .milliseconds(Int64(value * Double(unit) * 1000))
}
