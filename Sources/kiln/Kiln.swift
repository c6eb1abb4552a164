import ArgumentParser
import Foundation
import KilnClient

/// `kiln`: operate Kiln jobs from the command line.
///
/// `kiln COMMAND ...` runs one command; `kiln -c "CMD; CMD"` runs several; `kiln < FILE`
/// runs a script (one command a line, `#` comments); `kiln` on a terminal opens a prompt.
///
/// Exit status: 0 success; 64 usage error; 65 refused by the server (not found,
/// invalid argument, not allowed in the job's status, conflict...); 69 the server
/// cannot be reached; 77 no valid token, or not allowed; 1 anything else.
@main
struct Kiln: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiln",
    abstract: "Operate Kiln jobs from the command line.",
    discussion: """
      Connects to $KILN_ADDR (host:port, default 127.0.0.1:7077) with the bearer token in $KILN_TOKEN \
      (or the file $KILN_TOKEN_FILE; a new kilnd writes its first ADMIN's to <data-dir>/admin.token), \
      over TLS with --ca-file or $KILN_CA_FILE. Output is an aligned table, or JSON with -o json (one object per line for \
      streams). `kiln -c "pause ID; resume ID"` and `kiln < script.kiln` run several commands and \
      stop at the first that fails. Exit status: 0 success, 64 usage error, 65 refused by the \
      server, 69 server unreachable, 77 no valid token or not allowed, 1 other errors.
      """,
    subcommands: [
      Submit.self, Jobs.self, Show.self, Pause.self, Resume.self, Restart.self, Discard.self, Delete.self,
      Wait.self, Watch.self, Log.self, Types.self,
      Projects.self, ProjectCommand.self,
      Users.self, UserCommand.self, Grant.self, Revoke.self,
      Tokens.self, TokenCommand.self, WhoAmI.self, Audit.self,
      Subjects.self, SubjectCommand.self,
    ])

  @Option(name: .short, help: ArgumentHelp("Run these commands (separated by ';' or newlines) and exit.", valueName: "commands"))
  var command: String?

  @OptionGroup var connection: ConnectionFlags

  func run() async throws {
    try connection.exportToEnvironment()
    let session = CommandSession()
    if let command {
      try await session.runScript(command.split(whereSeparator: { $0 == ";" || $0 == "\n" }).map(String.init))
    } else if !stdinIsTerminal {
      var lines: [String] = []
      while let line = readLine() { lines.append(line) }
      try await session.runScript(lines)
    } else {
      await session.runPrompt()
    }
  }
}
