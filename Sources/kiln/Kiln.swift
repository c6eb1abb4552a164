import ArgumentParser

/// `kiln`: operate Kiln jobs from the command line. Every command is one-shot and
/// scriptable; the interactive shell builds on the same commands.
///
/// Exit status: 0 success; 64 usage error; 65 refused by the server (not found,
/// invalid argument, not allowed in the job's status, conflict...); 69 the server
/// cannot be reached; 1 anything else.
@main
struct Kiln: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiln",
    abstract: "Operate Kiln jobs from the command line.",
    discussion: """
      Connects to $KILN_ADDR (host:port, default 127.0.0.1:7077), over TLS with --ca-file or \
      $KILN_CA_FILE. Output is an aligned table, or JSON with -o json (one object per line for \
      streams). Exit status: 0 success, 64 usage error, 65 refused by the server, 69 server \
      unreachable, 1 other errors.
      """,
    subcommands: [
      Submit.self, Jobs.self, Show.self, Pause.self, Resume.self, Restart.self, Discard.self, Delete.self,
      Wait.self, Watch.self, Log.self, Types.self,
    ])
}
