import Foundation
import KilnTestSupport
import Testing

/// kilnd's settings from flags, the environment and a file, run as a user runs it.
@Suite("kilnd configuration: flag > environment > file > default", .timeLimit(.minutes(2)))
struct KilndConfigurationTests {
  static let kilnd = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kilnd")

  static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ChildProcessRunner.Output {
    try #require(FileManager.default.isExecutableFile(atPath: kilnd.path), "swift build builds kilnd beside the tests")
    // Only what the test gives: a KILND_ variable of the machine must not change the answer.
    var base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KILND_") && $0.key != "KILN_STORE" }
    base.merge(environment) { $1 }
    return try await ChildProcessRunner.run(kilnd, arguments, environment: base)
  }

  /// `name = value  # source` lines as name → (value, source).
  static func settings(_ text: String) -> [String: (value: String, source: String)] {
    var result: [String: (String, String)] = [:]
    for line in text.split(separator: "\n") {
      guard let equals = line.range(of: " = "), let hash = line.range(of: "  # ", options: .backwards) else { continue }
      result[String(line[..<equals.lowerBound])] = (String(line[equals.upperBound..<hash.lowerBound]), String(line[hash.upperBound...]))
    }
    return result
  }

  static func file(_ json: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kilnd-\(UUID().uuidString).json")
    try Data(json.utf8).write(to: url)
    return url
  }

  @Test("each layer overrides the one below it, and --print-config says which one gave each value")
  func precedence() async throws {
    let config = try Self.file(#"{"port": 1111, "max-running": 3, "stop-grace": 2.5, "watch-window": 500, "insecure-no-auth": true}"#)
    defer { try? FileManager.default.removeItem(at: config) }
    let output = try await Self.run(
      ["--config", config.path, "--port", "3333", "--print-config"],
      environment: ["KILND_PORT": "2222", "KILND_MAX_RUNNING": "5", "KILND_HEARTBEAT": "2"])
    #expect(output.status == 0, "\(output.stderr)")
    let settings = Self.settings(output.stdout)
    #expect(settings["port"]! == ("3333", "flag"))
    #expect(settings["max-running"]! == ("5", "environment (KILND_MAX_RUNNING)"))
    #expect(settings["heartbeat"]! == ("2.0", "environment (KILND_HEARTBEAT)"))
    #expect(settings["stop-grace"]! == ("2.5", "file"))
    #expect(settings["watch-window"]! == ("500", "file"))
    #expect(settings["insecure-no-auth"]! == ("true", "file"))
    #expect(settings["host"]! == ("127.0.0.1", "default"))
    #expect(settings["config"]! == (config.path, "flag"))
  }

  @Test("the file can come from KILND_CONFIG; the store's password is masked; KILN_STORE still names the store")
  func configFromEnvironmentAndSecrets() async throws {
    let config = try Self.file(#"{"store": "postgres://kiln:hunter2@127.0.0.1:1/kiln"}"#)
    defer { try? FileManager.default.removeItem(at: config) }
    let output = try await Self.run(["--print-config"], environment: ["KILND_CONFIG": config.path])
    #expect(output.status == 0, "\(output.stderr)")
    #expect(!output.stdout.contains("hunter2"))
    #expect(Self.settings(output.stdout)["store"]! == ("postgres://kiln:****@127.0.0.1:1/kiln", "file"))
    #expect(Self.settings(output.stdout)["config"]! == (config.path, "environment (KILND_CONFIG)"))
    let legacy = try await Self.run(["--print-config"], environment: ["KILN_STORE": "postgres://kiln@127.0.0.1:1/kiln"])
    #expect(Self.settings(legacy.stdout)["store"]! == ("postgres://kiln@127.0.0.1:1/kiln", "environment (KILND_STORE)"))
  }

  @Test("a wrong key, a flag with a value, or a bad value from the environment is refused (exit 64), naming it")
  func refusals() async throws {
    let unknown = try Self.file(#"{"max-runing": 3}"#)
    let flagWithText = try Self.file(#"{"insecure-no-auth": "yes"}"#)
    defer { for url in [unknown, flagWithText] { try? FileManager.default.removeItem(at: url) } }
    let typo = try await Self.run(["--config", unknown.path, "--print-config"])
    #expect(typo.status == 64)
    #expect(typo.stderr.contains(#"unknown setting "max-runing""#), "\(typo.stderr)")
    let flag = try await Self.run(["--config", flagWithText.path, "--print-config"])
    #expect(flag.status == 64)
    #expect(flag.stderr.contains(#""insecure-no-auth" is a flag: true or false"#), "\(flag.stderr)")
    let badPort = try await Self.run(["--print-config"], environment: ["KILND_PORT": "seventy"])
    #expect(badPort.status == 64)
    #expect(badPort.stderr.contains("--port came from KILND_PORT"), "\(badPort.stderr)")
    let badFlag = try await Self.run(["--print-config"], environment: ["KILND_INSECURE_NO_AUTH": "maybe"])
    #expect(badFlag.status == 64)
    #expect(badFlag.stderr.contains("KILND_INSECURE_NO_AUTH: maybe is not true or false"), "\(badFlag.stderr)")
    let missing = try await Self.run(["--config", "/nonexistent/kilnd.json", "--print-config"])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("--config /nonexistent/kilnd.json: cannot read it"), "\(missing.stderr)")
  }

  @Test("--print-config lists every option --help shows: the environment and the file reach all of them")
  func everyOptionIsASetting() async throws {
    let help = try await Self.run(["--help"])
    let options = Set(
      help.stdout.split(separator: "\n").compactMap { line -> String? in
        guard line.hasPrefix("  --"), let name = line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "," }).first
        else { return nil }
        return String(name)
      })
    #expect(options.count > 30)
    let printed = Set(Self.settings(try await Self.run(["--print-config"]).stdout).keys)
    #expect(options.subtracting(printed).subtracting(["help", "print-config"]).isEmpty, "\(options.subtracting(printed))")
  }
}
