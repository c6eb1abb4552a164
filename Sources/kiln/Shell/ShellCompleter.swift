import Foundation
import KilnClient
import KilnCore

/// Tab completion for the prompt: commands, their flags, statuses, sort fields, job
/// types, projects, and job ids — for an operation, only the ids of jobs whose status
/// allows it (after `resume `, only PAUSED and ERROR jobs).
struct ShellCompleter: Sendable {
  static let commands = [
    "submit", "jobs", "job", "pause", "resume", "restart", "discard", "delete", "wait", "watch", "log", "types",
    "projects", "project", "users", "user", "grant", "revoke", "tokens", "token", "whoami", "audit",
    "subjects", "subject",
    "use", "help", "exit",
  ]
  /// The words after a command that has subcommands.
  static let subcommands: [String: [String]] = [
    "project": ["create", "show", "update", "delete"], "user": ["create", "disable", "enable"], "token": ["create", "revoke"],
  ]
  static let filterFlags = ["--project", "--status", "--type", "--subject", "--key"]
  static let flags: [String: [String]] = [
    "submit": ["--project"],
    "subjects": ["--project"],
    "subject": ["--project", "--kind", "--schema", "--attr", "--unset-attr", "--yes"],
    "jobs": filterFlags + ["--sort", "--ascending", "--limit", "--page-token", "--all"],
    "watch": filterFlags + ["--since", "--progress"],
    "log": ["--follow"],
    "pause": filterFlags + ["--all-projects", "--yes", "--expected-revision"],
    "grant": ["--project"], "revoke": ["--project"], "tokens": ["--user", "--all"],
    "audit": ["--actor", "--method", "--target", "--project", "--failures", "--since", "--limit", "--page-token"],
  ]
  static let actions: [String: JobAction] = [
    "pause": .pause, "resume": .resume, "restart": .restart, "discard": .discard, "delete": .delete,
  ]

  let configuration: KilnClientConfiguration

  /// Candidates for the word being typed, given everything before the cursor.
  func candidates(before text: String) async -> [String] {
    var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    if !text.hasSuffix(" ") && !words.isEmpty { words.removeLast() }  // the word being typed
    guard let command = words.first else { return Self.commands }
    let previous = words.last ?? ""
    switch previous {
    case "--status": return JobStatus.allCases.map { $0.rawValue.lowercased() }
    case "--sort": return JobOrder.Field.allCases.map(\.rawValue)
    case "-o", "--output": return ["table", "json"]
    case "--type": return await jobTypes()
    case "--project": return await projects()
    case "--user", "--actor": return await users()
    default: break
    }
    let typed = text.split(separator: " ").last.map(String.init) ?? ""
    if typed.hasPrefix("-") && !text.hasSuffix(" ") {
      let own = Self.flags[command] ?? Self.flags[Self.actions[command] != nil ? "pause" : ""] ?? []
      return own + ["--addr", "--ca-file", "--output"]
    }
    let positional = words.dropFirst().filter { !$0.hasPrefix("-") }.count
    switch command {
    case "help": return positional == 0 ? Self.commands : []
    case "use": return positional == 0 ? await projects() : []
    case "project", "user", "token":
      if positional == 0 { return Self.subcommands[command] ?? [] }
      if command == "project", positional == 1, words.count > 1, words[1] != "create" { return await projects() }
      if command == "user", positional == 1, words.count > 1, words[1] != "create" { return await users() }
      return []
    case "grant": return positional == 0 ? await users() : positional == 1 ? ["viewer", "operator"] : []
    case "revoke": return positional == 0 ? await users() : []
    case "submit": return positional == 0 ? await jobTypes() : []
    case "subject": return positional == 0 ? ["create", "show", "update", "delete"] : []
    case "job", "wait", "log": return positional == 0 ? await jobIDs(allowing: nil) : []
    default:
      // An operation takes several ids: never offer one already on the line.
      if let action = Self.actions[command] { return await jobIDs(allowing: action).filter { !words.contains($0) } }
      return []
    }
  }

  private func jobTypes() async -> [String] {
    (try? await withKilnClient(configuration) { try await $0.jobTypes().map(\.name) }) ?? []
  }

  private func projects() async -> [String] {
    (try? await withKilnClient(configuration) { try await $0.projects().map(\.name) }) ?? []
  }

  /// Users, for an ADMIN; nothing for others (the server refuses them the list).
  private func users() async -> [String] {
    (try? await withKilnClient(configuration) { try await $0.users().map(\.name) }) ?? []
  }

  private func jobIDs(allowing action: JobAction?) async -> [String] {
    let statuses = action.map { action in JobStatus.allCases.filter { JobTransitions.isAllowed(action, from: $0) } } ?? []
    let jobs =
      (try? await withKilnClient(configuration) { kiln in
        try await kiln.listJobs(filter: JobFilter(statuses: statuses), pageSize: 1000).jobs
      }) ?? []
    return jobs.map(\.id)
  }
}
