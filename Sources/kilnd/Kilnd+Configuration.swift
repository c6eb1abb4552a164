import ArgumentParser
import Foundation
import KilnPostgresStore

/// kilnd's settings from four places, in one precedence: a flag on the command line,
/// then an environment variable, then the configuration file, then the default.
///
/// Every setting is a long option (`--max-running`); its environment variable is
/// `KILND_` and the name in capitals (`KILND_MAX_RUNNING`); its key in the file
/// (`--config kilnd.json`, or `KILND_CONFIG`) is the name itself (`"max-running": 16`).
/// The `KILND_` prefix, not `KILN_`, because the `kiln` client already reads
/// `KILN_TLS_CERT`/`KILN_TLS_KEY`/`KILN_CA_FILE` for its own certificate: a shell that
/// set them for the client must not start a server with them. `KILN_STORE` (older)
/// still names the store, below `KILND_STORE`.
///
/// The layers are merged into one argument list, file first, then the environment,
/// then the real command line, and Swift Argument Parser reads it: for an option given
/// more than once the last value wins, so the precedence holds, and every value gets
/// the parser's own checks and messages. (Swift Argument Parser has no environment or
/// file support of its own; swift-configuration reads both but would parse and check
/// every option a second time, beside the parser that makes `--help`.)
enum ConfigurationLayers {
  /// Where a setting's value came from.
  enum Source: String {
    case flag, environment, file, `default`
  }

  /// One setting: its long name, whether it is a flag (no value), and its value now.
  struct Setting {
    var name: String
    var isFlag: Bool
    /// The value as text; `nil` when an optional setting is unset.
    var value: String?
    /// Shown masked by `--print-config`.
    var isSecret = false
  }

  /// The environment variable of the setting `name`.
  static func environmentName(_ name: String) -> String {
    "KILND_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
  }

  /// The arguments to parse (file, environment, then `commandLine`) and where each
  /// setting given in any layer came from.
  ///
  /// - Throws: `ValidationError` naming the file, the key or the variable that is wrong.
  static func merge(
    commandLine: [String], environment: [String: String], settings: [Setting]
  ) throws -> (arguments: [String], sources: [String: Source]) {
    let byName = Dictionary(uniqueKeysWithValues: settings.map { ($0.name, $0) })
    var sources: [String: Source] = [:]
    var arguments: [String] = []

    if let path = configFile(commandLine: commandLine, environment: environment) {
      for (name, value) in try fileSettings(path: path, known: byName) {
        arguments += value.map { ["--\(name)", $0] } ?? ["--\(name)"]
        sources[name] = .file
      }
    }
    for setting in settings where setting.name != "config" {
      let variable = environmentName(setting.name)
      let legacy = setting.name == "store" ? environment["KILN_STORE"] : nil
      guard let text = environment[variable].flatMap({ $0.isEmpty ? nil : $0 }) ?? legacy.flatMap({ $0.isEmpty ? nil : $0 })
      else { continue }
      if setting.isFlag {
        switch text.lowercased() {
        case "1", "true", "yes", "on": arguments.append("--\(setting.name)")
        case "0", "false", "no", "off": continue
        default: throw ValidationError("\(variable): \(text) is not true or false")
        }
      } else {
        arguments += ["--\(setting.name)", text]
      }
      sources[setting.name] = .environment
    }
    if configFileFromEnvironment(commandLine: commandLine, environment: environment),
      let path = configFile(commandLine: [], environment: environment)
    {
      arguments += ["--config", path]
      sources["config"] = .environment
    }
    for argument in commandLine where argument.hasPrefix("--") {
      let name = String(argument.dropFirst(2).prefix { $0 != "=" })
      if byName[name] != nil { sources[name] = .flag }
    }
    return (arguments + commandLine, sources)
  }

  /// `--config PATH` (or `--config=PATH`) on the command line, else `KILND_CONFIG`.
  static func configFile(commandLine: [String], environment: [String: String]) -> String? {
    for (index, argument) in commandLine.enumerated() {
      if argument == "--config", index + 1 < commandLine.count { return commandLine[index + 1] }
      if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
    }
    return environment["KILND_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// Whether the file comes from `KILND_CONFIG` rather than the command line.
  static func configFileFromEnvironment(commandLine: [String], environment: [String: String]) -> Bool {
    !commandLine.contains { $0 == "--config" || $0.hasPrefix("--config=") } && configFile(commandLine: [], environment: environment) != nil
  }

  /// The file's settings, as (name, value or `nil` for a flag that is on), in the
  /// file's order of names (sorted: JSON objects have none).
  static func fileSettings(path: String, known: [String: Setting]) throws -> [(String, String?)] {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw ValidationError("--config \(path): cannot read it")
    }
    let object: [String: FileValue]
    do {
      object = try JSONDecoder().decode([String: FileValue].self, from: data)
    } catch {
      throw ValidationError("--config \(path): not a JSON object of settings (\"max-running\": 16, ...): \(error)")
    }
    var result: [(String, String?)] = []
    for key in object.keys.sorted() {
      let name = key.hasPrefix("--") ? String(key.dropFirst(2)) : key
      guard let setting = known[name], name != "config", name != "print-config" else {
        throw ValidationError("--config \(path): unknown setting \"\(key)\" (kilnd --help lists them)")
      }
      switch (object[key]!, setting.isFlag) {
      case (.flag(let on), true):
        if on { result.append((name, nil)) }
      case (.text(let text), false):
        result.append((name, text))
      case (_, true):
        throw ValidationError("--config \(path): \"\(key)\" is a flag: true or false")
      case (.flag, false):
        throw ValidationError("--config \(path): \"\(key)\" needs a string or a number")
      }
    }
    return result
  }

  /// A value in the file: `true`/`false` for a flag, a string or a number otherwise.
  enum FileValue: Decodable {
    case flag(Bool)
    case text(String)

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let on = try? container.decode(Bool.self) {
        self = .flag(on)
      } else if let whole = try? container.decode(Int.self) {
        self = .text(String(whole))
      } else if let number = try? container.decode(Double.self) {
        self = .text(String(number))
      } else {
        self = .text(try container.decode(String.self))
      }
    }
  }
}

extension Kilnd {
  /// Every setting with its current value, in `--help`'s order. The one list of
  /// kilnd's settings: the environment and the file are read through it, and a test
  /// checks that it names every option `--help` shows.
  var settings: [ConfigurationLayers.Setting] {
    func option(_ name: String, _ value: (any CustomStringConvertible)?) -> ConfigurationLayers.Setting {
      .init(name: name, isFlag: false, value: value.map { "\($0)" })
    }
    func flag(_ name: String, _ value: Bool) -> ConfigurationLayers.Setting {
      .init(name: name, isFlag: true, value: String(value))
    }
    var storeSetting = option("store", store.map(PostgresURL.redacted))
    storeSetting.isSecret = store.map { PostgresURL.redacted($0) != $0 } ?? false
    return [
      option("config", config),
      option("host", host), option("port", port), option("data-dir", dataDirectory), storeSetting,
      option("job-types", jobTypesFile), option("max-running", maxRunning),
      option("max-running-per-project", maxRunningPerProject), option("stop-grace", stopGrace),
      option("lease-seconds", leaseSeconds), option("log-level", logLevel), option("tls-cert", tlsCertificate),
      option("tls-key", tlsKey), option("tls-client-ca", tlsClientCA), flag("insecure-no-auth", insecureNoAuth),
      flag("open-reflection", openReflection),
      option("heartbeat", heartbeat), option("watch-window", watchWindow), option("event-retention", eventRetention),
      option("event-retention-hours", eventRetentionHours), option("job-retention-days", jobRetentionDays),
      option("callback-timeout", callbackTimeout), option("callback-max-attempts", callbackMaxAttempts),
      flag("unsafe-lose-commits-on-power-loss", unsafeLoseCommitsOnPowerLoss),
      option("max-connections", maxConnections), option("max-connections-per-address", maxConnectionsPerAddress),
      option("max-concurrent-streams", maxConcurrentStreams), option("handshake-timeout", handshakeTimeout),
      option("idle-timeout", idleTimeout), option("write-stall-timeout", writeStallTimeout),
      option("close-grace", closeGrace), option("metrics-port", metricsPort), option("metrics-host", metricsHost),
      option("http-port", httpPort), option("http-host", httpHost), option("web-root", webRoot),
      option("keepalive", keepalive), flag("print-config", printConfig),
    ]
  }

  /// The effective configuration, one `name = value  # source` line per setting, the
  /// store's password masked.
  func effectiveConfiguration(sources: [String: ConfigurationLayers.Source]) -> String {
    settings.filter { $0.name != "print-config" }.map { setting in
      let value = setting.value ?? "(unset)"
      let source = sources[setting.name] ?? .default
      let variable = setting.name == "config" ? "KILND_CONFIG" : ConfigurationLayers.environmentName(setting.name)
      return "\(setting.name) = \(value)  # \(source.rawValue)\(source == .environment ? " (\(variable))" : "")"
    }.joined(separator: "\n")
  }
}
