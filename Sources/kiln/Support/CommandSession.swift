import ArgumentParser
import Foundation
import KilnClient

/// Runs command lines through the same parser as `kiln COMMAND ...`.
struct CommandSession {
  /// Runs lines in order and stops at the first that fails, exiting with its status.
  /// A script takes every line the prompt does: `use P` lasts to the script's end (or the
  /// next `use`), `exit` ends it.
  func runScript(_ lines: [String]) async throws {
    var project: String?
    for line in lines {
      switch Self.interpret(line, project: &project) {
      case .leave: return
      case .handled: continue
      case .run(let command):
        let status = await run(command)
        if status != 0 { throw ExitCode(status) }
      }
    }
  }

  /// What the shell does with one line, at the prompt or in a script.
  enum LineOutcome: Equatable {
    /// `exit` or `quit`.
    case leave
    /// The shell's own command (`use`), done.
    case handled
    /// A command to run: the line, with `--project` added after a `use`.
    case run(String)
  }

  /// Interprets the shell's own commands: `exit`/`quit`, and `use P` (or `use` alone,
  /// which forgets the project), which sets the project later commands get.
  static func interpret(_ line: String, project: inout String?) -> LineOutcome {
    let words = (try? split(line)) ?? []
    if words.first == "exit" || words.first == "quit" { return .leave }
    if words.first == "use" {
      project = words.count > 1 ? words[1] : nil
      return .handled
    }
    return .run(withProject(project, line: line, words: words))
  }

  /// The interactive prompt: line editing, history, completion; failures are shown and
  /// the prompt carries on. Ctrl-C cancels the line being typed or the running command;
  /// Ctrl-D or `exit` leaves.
  func runPrompt() async {
    let environment = ProcessInfo.processInfo.environment
    let configuration = (try? KilnClientConfiguration.fromEnvironment(environment)) ?? KilnClientConfiguration()
    let terminal = Terminal()
    let history = History(environment: environment)
    let completer = ShellCompleter(configuration: configuration)
    let editor = LineEditor(terminal: terminal, history: history) { await completer.candidates(before: $0) }
    let interrupts = InterruptWatcher()
    var project: String?
    // Who the server takes us for, once: in the prompt, and a hint when nobody.
    var user = ""
    do {
      let me = try await withKilnClient(configuration) { try await $0.whoAmI() }
      user = me.user.name + "@"
      let roles = rolesText(me.user)
      print("kiln: \(me.user.name) on \(configuration.host):\(configuration.port)\(roles.isEmpty ? "" : " (\(roles))").")
    } catch let error as KilnError where error.code == .unauthenticated {
      print("kiln: \(error.message). Set KILN_TOKEN or KILN_TOKEN_FILE (a new kilnd writes <data-dir>/admin.token).")
    } catch {
      print("kiln: \(configuration.host):\(configuration.port) does not answer yet (\(error)).")
    }
    print("'help' lists commands; Tab completes; Ctrl-D leaves.")
    while true {
      let prompt = "kiln \(user)\(configuration.host):\(configuration.port)\(project.map { " [\($0)]" } ?? "")> "
      switch await editor.readLine(prompt: prompt) {
      case .endOfInput:
        return
      case .interrupted:
        continue
      case .line(let line):
        history.add(line)
        switch Self.interpret(line, project: &project) {
        case .leave: return
        case .handled: continue
        case .run(let command):
          let status = await interrupts.running { await self.run(command) }
          if status == nil { print("interrupted") }
        }
      }
    }
  }

  /// Adds `--project P` (from `use P`) to the commands that take one, unless given.
  static func withProject(_ project: String?, line: String, words: [String]) -> String {
    guard let project, let command = words.first,
      ["jobs", "watch", "submit", "grant", "revoke", "subjects", "subject"].contains(command),
      !words.contains("--project")
    else { return line }
    return line + " --project '\(project)'"
  }

  /// Runs one line; returns its exit status (0 for blank lines and comments).
  func run(_ line: String) async -> Int32 {
    let words: [String]
    do {
      words = try Self.split(line)
    } catch {
      FileHandle.standardError.write(Data("kiln: \(error)\n".utf8))
      return 64
    }
    guard let first = words.first, !first.hasPrefix("#") else { return 0 }
    if first == "help" {
      print(Kiln.helpMessage(for: words.count > 1 ? Self.subcommand(named: words[1]) ?? Kiln.self : Kiln.self))
      return 0
    }
    do {
      var command = try Kiln.parseAsRoot(words)
      guard !(command is Kiln) else {
        FileHandle.standardError.write(Data("kiln: give a command (try 'help')\n".utf8))
        return 64
      }
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      return 0
    } catch {
      let code = Kiln.exitCode(for: error)
      if code.rawValue != 0 {
        let message = Kiln.message(for: error)
        if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
      } else {
        // --help and the like print their text through the error.
        print(Kiln.fullMessage(for: error))
      }
      return code.rawValue
    }
  }

  static func subcommand(named name: String) -> (any ParsableCommand.Type)? {
    Kiln.configuration.subcommands.first {
      ($0.configuration.commandName ?? String(describing: $0).lowercased()) == name
    }
  }

  /// Splits a line into words the way a shell does for quotes: `submit T "a b"` is three words.
  static func split(_ line: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in line {
      if escaped {
        current.append(character)
        escaped = false
      } else if character == "\\" && quote != "'" {
        escaped = true
        inWord = true
      } else if let open = quote {
        if character == open { quote = nil } else { current.append(character) }
      } else if character == "\"" || character == "'" {
        quote = character
        inWord = true
      } else if character == " " || character == "\t" {
        if inWord { words.append(current) }
        current = ""
        inWord = false
      } else {
        current.append(character)
        inWord = true
      }
    }
    if quote != nil { throw ValidationError("unclosed quote in: \(line)") }
    if inWord { words.append(current) }
    return words
  }
}
