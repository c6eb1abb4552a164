import Foundation
import KilnServer
import KilnTestSupport
import Testing

/// Runs the built `kiln` binary as a user would, against a real server.
struct KilnCommand {
  let port: Int
  /// The token the command sends (KILN_TOKEN); none when `nil`.
  var token: String?

  /// The environment a command runs in: the server's address and the token.
  var environment: [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["KILN_ADDR"] = "127.0.0.1:\(port)"
    environment["KILN_TOKEN"] = token
    environment["KILN_TOKEN_FILE"] = nil
    return environment
  }

  /// The `kiln` executable built next to this test bundle.
  static let executable: URL = {
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug"),
    ]
    for directory in candidates {
      let url = directory.appendingPathComponent("kiln")
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return candidates[0].appendingPathComponent("kiln")
  }()

  /// Runs `kiln ARGUMENTS` with stdin from /dev/null (no terminal) and waits for it,
  /// off the concurrency pool (the server under test runs in this process).
  func run(_ arguments: String..., stdin: String? = nil) async throws -> ChildProcessRunner.Output {
    try await ChildProcessRunner.run(Self.executable, arguments, environment: environment, stdin: stdin)
  }
}

@Suite("The kiln command line, one-shot, against a real server", .timeLimit(.minutes(3)))
struct KilnCommandTests {
  @Test("every command: output and exit status")
  func commands() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: { $0.maxRunningJobs = 1 }) { port, _ in
      let kiln = KilnCommand(port: port, token: try harness.adminToken)

      let types = try await kiln.run("types")
      #expect(types.status == 0)
      #expect(types.stdout.contains("INDEX_BUILD") && types.stdout.contains("DETECT_RESOURCE → LOAD_DATA"))

      // A job needs its subject: without one, submit is refused and creates nothing.
      let missing = try await kiln.run("submit", "SNAPSHOT_BUILD", "orders", "--project", "sales", "sleep_ms=20")
      #expect(missing.status == 65)
      #expect(missing.stderr.contains("subject orders not found in project sales"), "\(missing.stderr)")
      for (subject, project) in [("orders", "sales"), ("a", "sales"), ("b", "ops")] {
        let created = try await kiln.run("subject", "create", subject, "--project", project, "--kind", "model")
        #expect(created.status == 0, "\(created.stderr)")
      }

      let quick = try await kiln.run("submit", "SNAPSHOT_BUILD", "orders", "--project", "sales", "sleep_ms=20")
      #expect(quick.status == 0, "\(quick.stderr)")
      let quickID = quick.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(quickID.count == 36)

      let waited = try await kiln.run("wait", quickID, "-o", "json")
      #expect(waited.status == 0)
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(waited.stdout.utf8)) as? [String: Any])
      #expect(object["status"] as? String == "FINISHED")
      #expect(object["allowed_actions"] as? [String] == ["DELETE"])

      let log = try await kiln.run("log", quickID, "BUILD_SNAPSHOT")
      #expect(log.status == 0 && log.stdout.contains("BUILD_SNAPSHOT: 100%"))
      let followed = try await kiln.run("log", quickID, "1", "-f", "--host", "127.0.0.1", "--port", String(port))
      #expect(followed.status == 0 && followed.stdout.contains("=== UPDATE_METADATA succeeded ==="))

      let held = try await kiln.run("submit", "INDEX_BUILD", "a", "--project", "sales", "sleep_ms=600000")
      let heldID = held.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      let waiting = try await kiln.run("submit", "INDEX_BUILD", "b", "--project", "ops", "sleep_ms=600000")
      let waitingID = waiting.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

      let detail = try await kiln.run("job", waitingID)
      #expect(detail.status == 0 && detail.stdout.contains("PENDING") && detail.stdout.contains("DETECT_RESOURCE"))

      let listed = try await kiln.run("jobs", "--project", "sales", "-o", "json")
      #expect(listed.status == 0)
      let ids = listed.stdout.split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
      }
      #expect(Set(ids) == [quickID, heldID])
      let table = try await kiln.run("jobs", "--status", "pending")
      #expect(table.stdout.contains(waitingID) && table.stdout.contains("1 of 1 job(s)"))

      #expect(try await kiln.run("pause", waitingID).status == 0)
      let refused = try await kiln.run("pause", waitingID)
      #expect(refused.status == 65)
      #expect(refused.stderr.contains("its status is PAUSED"))
      #expect(try await kiln.run("resume", waitingID).status == 0)
      #expect(try await kiln.run("restart", heldID).status == 0)

      // Destructive and batch operations want a confirmation; without a terminal, --yes.
      let unconfirmed = try await kiln.run("discard", heldID)
      #expect(unconfirmed.status == 64)
      #expect(unconfirmed.stderr.contains("--yes"))
      let batch = try await kiln.run("discard", "--status", "pending", "--status", "running", "--yes")
      #expect(batch.status == 0, "\(batch.stderr)")
      #expect(batch.stdout.contains("2 succeeded, 0 refused"))
      let mixed = try await kiln.run("delete", heldID, quickID, "nope", "--yes", "-o", "json")
      #expect(mixed.status == 65, "a refused item makes the batch fail")
      #expect(mixed.stdout.split(separator: "\n").count == 3)
      #expect(try await kiln.run("job", heldID).status == 65, "deleted")
    }
  }

  @Test("subject commands: create, list, show, update (discards the jobs on it), delete")
  func subjects() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: { $0.maxRunningJobs = 1 }) { port, _ in
      let kiln = KilnCommand(port: port, token: try harness.adminToken)
      let created = try await kiln.run(
        "subject", "create", "sales_model", "--project", "sales", "--kind", "model", "--schema", "id INT",
        "--attr", "owner=ana", "-o", "json")
      #expect(created.status == 0, "\(created.stderr)")
      let object = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
      #expect(object["version"] as? Int == 1)
      #expect(object["attributes"] as? [String: String] == ["owner": "ana"])
      #expect(try await kiln.run("subject", "create", "sales_model", "--project", "sales").status == 65, "already exists")
      #expect(try await kiln.run("subject", "create", "x", "--project", "sales", "--attr", "novalue").status == 64)

      let listed = try await kiln.run("subjects", "--project", "sales")
      #expect(listed.status == 0 && listed.stdout.contains("sales_model") && listed.stdout.contains("v1"))
      #expect(listed.stdout.contains("owner=ana"))
      #expect(try await kiln.run("subjects", "--project", "nope").status == 65)
      let shown = try await kiln.run("subject", "show", "sales_model", "--project", "sales")
      #expect(shown.status == 0 && shown.stdout.contains("id INT"))

      let job = try await kiln.run("submit", "INDEX_BUILD", "sales_model", "--project", "sales", "sleep_ms=600000")
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(try await kiln.run("subject", "update", "sales_model", "--project", "sales").status == 64, "nothing to change")
      let updated = try await kiln.run("subject", "update", "sales_model", "--project", "sales", "--schema", "id BIGINT")
      #expect(updated.status == 0, "\(updated.stderr)")
      #expect(updated.stdout.contains("v2") && updated.stdout.contains("discarded 1 job(s): \(job)"))
      let detail = try await kiln.run("job", job)
      #expect(detail.stdout.contains("DISCARDED") && detail.stdout.contains("subject sales_model changed from v1 to v2"))
      let restart = try await kiln.run("restart", job)
      #expect(restart.status == 65 && restart.stderr.contains("submit a new job"), "\(restart.stderr)")

      let next = try await kiln.run("submit", "INDEX_BUILD", "sales_model", "--project", "sales", "sleep_ms=600000")
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      let unconfirmed = try await kiln.run("subject", "delete", "sales_model", "--project", "sales")
      #expect(unconfirmed.status == 64 && unconfirmed.stderr.contains("--yes"))
      let deleted = try await kiln.run("subject", "delete", "sales_model", "--project", "sales", "--yes", "-o", "json")
      #expect(deleted.status == 0, "\(deleted.stderr)")
      #expect(deleted.stdout.contains(next))
      let json = try await kiln.run("job", next, "-o", "json")
      #expect(json.stdout.contains("\"status_reason\":\"subject sales_model deleted\""))
      #expect(try await kiln.run("subject", "show", "sales_model", "--project", "sales").status == 65)
    }
  }

  @Test("several commands with -c and from a script on stdin; the first failure stops them")
  func scripts() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let kiln = KilnCommand(port: port, token: try harness.adminToken)
      let both = try await kiln.run(
        "-c", "subject create 'my subject' --project a; submit SNAPSHOT_BUILD 'my subject' --project a sleep_ms=0; jobs --project a -o json")
      #expect(both.status == 0, "\(both.stderr)")
      #expect(both.stdout.contains("\"subject\":\"my subject\""))

      let script = """
        # a comment, then a blank line

        subject create scripted --project b
        subject create never --project b
        submit SNAPSHOT_BUILD scripted --project b sleep_ms=0
        pause nope
        submit SNAPSHOT_BUILD never --project b
        """
      let stopped = try await kiln.run(stdin: script)
      #expect(stopped.status == 65, "the failing pause ends the script with its status")
      #expect(stopped.stderr.contains("job nope not found"))
      let listed = try await kiln.run("jobs", "--project", "b", "-o", "json")
      #expect(listed.stdout.contains("scripted") && !listed.stdout.contains("never"))
      #expect(try await kiln.run("-c", "frobnicate").status == 64)

      // The shell's own `use` works in scripts as at the prompt, to the script's end.
      let used = try await kiln.run("-c", "use alpha; subject create t1; submit SNAPSHOT_BUILD t1 sleep_ms=0; jobs -o json")
      #expect(used.status == 0, "\(used.stderr)")
      #expect(used.stdout.contains("\"project\":\"alpha\"") && used.stdout.contains("\"subject\":\"t1\""))
      let piped = try await kiln.run(stdin: "use alpha\nsubject create t2\nuse\njobs -o json\nexit\npause nope\n")
      #expect(piped.status == 0, "exit ends the script before the failing pause: \(piped.stderr)")
      #expect(piped.stdout.contains("\"subject\":\"t1\""), "after a bare use, jobs lists every project")
      let subjects = try await kiln.run("subjects", "--project", "alpha", "-o", "json")
      #expect(subjects.stdout.contains("t2"))
    }
  }

  @Test("projects, users, grants, tokens, whoami and the audit trail; refusals exit 77")
  func access() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let admin = KilnCommand(port: port, token: try harness.adminToken)
      #expect(try await admin.run("whoami").stdout.contains("admin — ADMIN"))
      let created = try await admin.run("project", "create", "warehouse", "--description", "the cubes")
      #expect(created.status == 0, "\(created.stderr)")
      #expect(try await admin.run("project", "create", "warehouse").status == 65, "already exists")
      #expect(try await admin.run("project", "update", "warehouse", "--callback-url", "http://127.0.0.1:9/hook").status == 0)
      #expect(try await admin.run("project", "show", "warehouse").stdout.contains("http://127.0.0.1:9/hook"))
      #expect(try await admin.run("project", "update", "warehouse", "--callback-url", "").status == 0)
      #expect(try await admin.run("project", "update", "warehouse").status == 64, "nothing to change")
      #expect(try await admin.run("user", "create", "alice").status == 0)
      #expect(try await admin.run("user", "create", "bob").status == 0)
      #expect(try await admin.run("grant", "alice", "operator", "--project", "warehouse").status == 0)
      #expect(try await admin.run("-c", "grant bob viewer --project warehouse").status == 0)
      #expect(try await admin.run("grant", "bob", "owner", "--project", "warehouse").status == 64)
      let users = try await admin.run("users").stdout
      #expect(users.contains("warehouse:OPERATOR") && users.contains("warehouse:VIEWER"))

      // The secret alone on stdout, for $(...); what it is on stderr.
      let made = try await admin.run("token", "create", "--user", "alice", "--description", "laptop", "--ttl", "7d")
      let secret = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(secret.hasPrefix("kiln_") && !secret.contains(" "))
      #expect(made.stderr.contains("for alice") && made.stderr.contains("not shown again"))
      let alice = KilnCommand(port: port, token: secret)
      #expect(try await alice.run("whoami").stdout.contains("alice — warehouse:OPERATOR"))
      #expect(try await alice.run("projects").stdout.contains("warehouse  OPERATOR"))
      #expect(!(try await alice.run("projects").stdout.contains("default")), "alice holds no role in default")
      #expect(try await alice.run("subject", "create", "t", "--project", "warehouse").status == 0, "an OPERATOR makes subjects")
      let submitted = try await alice.run("submit", "SNAPSHOT_BUILD", "t", "--project", "warehouse", "sleep_ms=0")
      #expect(submitted.status == 0)
      #expect(try await alice.run("wait", submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).status == 0)
      let denied = try await alice.run("users")
      #expect(denied.status == 77 && denied.stderr.contains("permission denied"))
      #expect(try await alice.run("submit", "SNAPSHOT_BUILD", "t", "--project", "default").status == 65, "not found")

      let bobSecret = try await admin.run("token", "create", "--user", "bob").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      let bob = KilnCommand(port: port, token: bobSecret)
      let viewerSubmit = try await bob.run("submit", "SNAPSHOT_BUILD", "t", "--project", "warehouse")
      #expect(viewerSubmit.status == 77 && viewerSubmit.stderr.contains("VIEWER"))
      #expect(try await KilnCommand(port: port, token: "kiln_nonsense").run("jobs").status == 77)
      #expect(try await KilnCommand(port: port, token: nil).run("jobs").stderr.contains("no bearer token"))

      // Tokens: listed, revoked, refused afterwards.
      let tokens = try await admin.run("tokens", "--user", "alice", "-o", "json").stdout
      let tokenID = try #require(tokens.split(separator: "\"").drop { $0 != "id" }.dropFirst(2).first.map(String.init))
      #expect(!tokens.contains(secret), "a listing never shows the secret")
      #expect(try await admin.run("token", "revoke", tokenID).status == 0)
      #expect(try await alice.run("whoami").status == 77)
      #expect(try await admin.run("revoke", "bob", "--project", "warehouse").status == 0)
      #expect(try await bob.run("jobs", "--project", "warehouse").stdout.contains("0 of 0 job(s)"))

      // The audit trail: the refused submission by bob is there, as a failure.
      let audit = try await admin.run("audit", "--failures", "--actor", "bob")
      #expect(audit.stdout.contains("SubmitJob") && audit.stdout.contains("permission denied"))
      #expect(try await admin.run("audit", "--method", "RevokeToken", "-o", "json").stdout.contains(tokenID))

      // A project with a finished job goes with it.
      let deleted = try await admin.run("project", "delete", "warehouse", "--yes")
      #expect(deleted.stdout.contains("deleted project warehouse and 1 job(s)"), "\(deleted.stderr)")
      #expect(try await admin.run("project", "show", "warehouse").status == 65)
    }
  }

  @Test("usage errors exit 64; an unreachable server exits 69")
  func exitStatuses() async throws {
    let kiln = KilnCommand(port: 1)
    #expect(try await kiln.run("jobs", "--sort", "nope").status == 64)
    #expect(try await kiln.run("pause").status == 64)
    #expect(try await kiln.run("submit", "T", "s", "notkeyvalue").status == 64)
    let unreachable = try await kiln.run("jobs")
    #expect(unreachable.status == 69)
    #expect(unreachable.stderr.contains("unavailable"))
  }

  @Test("watch prints the snapshot and then changes, one JSON object per line")
  func watch() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let process = try TestProcess.spawn(
        KilnCommand.executable, ["watch", "-o", "json"],
        environment: KilnCommand(port: port, token: try harness.adminToken).environment, stdout: .pipe)
      defer { process.terminate() }
      let kiln = KilnCommand(port: port, token: try harness.adminToken)
      // The first line is the snapshot: after it, every change is live.
      let reader = process.stdout!
      let first = await ChildProcessRunner.readLine(reader)
      #expect(first.contains("\"kind\":\"SNAPSHOT\""))
      #expect(try await kiln.run("subject", "create", "s").status == 0)
      let id = try await kiln.run("submit", "SNAPSHOT_BUILD", "s", "sleep_ms=0").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(try await kiln.run("wait", id).status == 0)
      // Read until the watch has printed the job's FINISHED update (or the watch ends).
      var lines: [String] = []
      while true {
        let line = await ChildProcessRunner.readLine(reader)
        if line.isEmpty { break }
        lines.append(line)
        if line.contains(id), line.contains("\"FINISHED\"") { break }
      }
      process.terminate()
      _ = await process.waitForExit()
      // Heartbeats come whenever the watch is silent for 5 s (a slow machine): not changes.
      let kinds = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["kind"] as? String }
        .filter { $0 != "HEARTBEAT" }
      #expect(kinds.first == "CREATED")
      #expect(kinds.last == "UPDATED")
    }
  }
}
