import ArgumentParser
import Foundation
import KilnClient

/// How output is written.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table
  case json
}

/// Where the server is and how to reach it. Defaults come from `$KILN_ADDR`,
/// `$KILN_TOKEN` and `$KILN_CA_FILE`.
struct ConnectionFlags: ParsableArguments {
  @Option(help: "The server's address as host:port (default: $KILN_ADDR or 127.0.0.1:7077).")
  var addr: String?

  @Option(help: "The server's host (overrides the host of --addr / $KILN_ADDR).")
  var host: String?

  @Option(help: "The server's port (overrides the port of --addr / $KILN_ADDR).")
  var port: Int?

  @Option(help: "A bearer token (default: $KILN_TOKEN); never written to the shell's history.")
  var token: String?

  @Option(name: .customLong("token-file"), help: "Read the bearer token from this file, e.g. kilnd's <data-dir>/admin.token (default: $KILN_TOKEN_FILE).")
  var tokenFile: String?

  @Option(name: .customLong("ca-file"), help: "Connect over TLS, trusting this PEM CA (default: $KILN_CA_FILE).")
  var caFile: String?

  @Option(name: .customLong("tls-cert"), help: "A PEM client certificate, for servers that require one (default: $KILN_TLS_CERT).")
  var tlsCertificate: String?

  @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert (default: $KILN_TLS_KEY).")
  var tlsKey: String?

  func validate() throws {
    if let port, !(1...65535).contains(port) { throw ValidationError("--port \(port): between 1 and 65535") }
    if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
  }

  /// The environment's configuration with these flags applied.
  func configuration() throws -> KilnClientConfiguration {
    var configuration = try KilnClientConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
    if let addr { (configuration.host, configuration.port) = try KilnClientConfiguration.parseAddress(addr) }
    if let host { configuration.host = host }
    if let port { configuration.port = port }
    if let tokenFile { configuration.token = try KilnClientConfiguration.readToken(file: tokenFile) }
    if let token { configuration.token = token }
    if let caFile { configuration.tls = ClientTLS(caFile: caFile) }
    if let tlsCertificate, let tlsKey {
      var tls = configuration.tls ?? ClientTLS()
      tls.certificateFile = tlsCertificate
      tls.keyFile = tlsKey
      configuration.tls = tls
    }
    return configuration
  }

  /// Makes these flags the defaults of every command this process runs (`-c`, scripts, the prompt).
  func exportToEnvironment() throws {
    let configuration = try configuration()
    setenv("KILN_ADDR", "\(configuration.host):\(configuration.port)", 1)
    if let token = configuration.token, token != ProcessInfo.processInfo.environment["KILN_TOKEN"] {
      setenv("KILN_TOKEN", token, 1)
    }
    if let caFile { setenv("KILN_CA_FILE", caFile, 1) }
    if let tlsCertificate, let tlsKey {
      setenv("KILN_TLS_CERT", tlsCertificate, 1)
      setenv("KILN_TLS_KEY", tlsKey, 1)
    }
  }
}

/// The flags every command takes: where the server is, and how to print.
struct GlobalOptions: ParsableArguments {
  @OptionGroup var connection: ConnectionFlags

  @Option(name: [.short, .customLong("output")], help: "table or json.")
  var output: OutputFormat = .table

  @Flag(name: .customLong("no-color"), help: "No colours (also: NO_COLOR set in the environment).")
  var noColor = false

  /// Connects, runs `body`, and turns a failure into the documented exit status.
  func connect<R: Sendable>(_ body: (KilnClient) async throws -> R) async throws -> R {
    if noColor { Style.disabled = true }
    let configuration = try connection.configuration()
    do {
      return try await withKilnClient(configuration, body)
    } catch let error as KilnError {
      throw CommandFailure(error)
    } catch let error as CommandFailure {
      throw error
    } catch let error as ExitCode {
      throw error
    } catch let error as ValidationError {
      throw error
    } catch {
      throw CommandFailure(KilnError(code: .unavailable, message: "\(error)"))
    }
  }
}

/// A failed command: printed to stderr, ending with the documented exit status.
struct CommandFailure: Error, CustomStringConvertible {
  let error: KilnError

  init(_ error: KilnError) {
    self.error = error
  }

  var description: String { "\(error.code): \(error.message)" }

  /// 69 unreachable, 77 no valid token or not allowed, 65 refused otherwise, 1 anything else.
  var exitCode: Int32 {
    switch error.code {
    case .unavailable, .deadlineExceeded: 69
    case .unauthenticated, .permissionDenied: 77
    case .notFound, .invalidArgument, .failedPrecondition, .aborted, .alreadyExists, .outOfRange:
      65
    default: 1
    }
  }
}

extension AsyncParsableCommand {
  /// Runs a command body, printing a failure the way every command does.
  func reporting(_ body: () async throws -> Void) async throws {
    do {
      try await body()
    } catch let failure as CommandFailure {
      FileHandle.standardError.write(Data("kiln: \(failure)\n".utf8))
      throw ExitCode(failure.exitCode)
    }
  }
}

/// Parses `key=value` arguments.
func parseParams(_ arguments: [String]) throws -> [String: String] {
  var params: [String: String] = [:]
  for argument in arguments {
    guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else {
      throw ValidationError("\(argument): parameters are key=value")
    }
    params[String(argument[..<eq])] = String(argument[argument.index(after: eq)...])
  }
  return params
}

/// Whether standard input is a terminal someone can answer a question on.
var stdinIsTerminal: Bool { isatty(0) == 1 }
