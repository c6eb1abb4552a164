import ArgumentParser
import Foundation
import KilnCore
import KilnCallbacks
import KilnEngine
import KilnPostgresStore
import KilnServer
import Logging
import KilnMetrics
import Metrics
import Prometheus

/// `kilnd`: the Kiln server.
@main
struct Kilnd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kilnd",
    abstract: "The Kiln job-operations server (gRPC, kiln.v1).",
    discussion: """
      Serves kiln.v1.JobService over HTTP/2 on \(ServerConfiguration.defaultPort) by default, with its \
      state in a SQLite database (WAL) under --data-dir, created on first start, or in PostgreSQL with \
      --store postgres://USER@HOST/DB (or KILND_STORE; KILN_STORE is read too). Without --job-types it \
      offers simulated job types modelled on Apache Kylin's (INDEX_BUILD, INC_BUILD, INDEX_MERGE, \
      INDEX_REFRESH, SNAPSHOT_BUILD, TABLE_SAMPLING). Every call needs a bearer token but health \
      checks (grpc.health.v1) and, with --open-reflection, server reflection (grpc.reflection.v1 and \
      v1alpha, which grpcurl uses: grpcurl -H 'authorization: Bearer TOKEN' HOST:PORT list). SIGTERM or \
      SIGINT shuts it down gracefully.

      Every option can also come from the environment, as KILND_ and its name in capitals \
      (KILND_MAX_RUNNING=16; a flag with KILND_INSECURE_NO_AUTH=true), or from a JSON file \
      (--config kilnd.json, or KILND_CONFIG). A flag on the command line wins over the \
      environment, which wins over the file, which wins over the default. --print-config \
      shows the result and where each value came from.
      """)

  @Option(help: "The address to listen on.")
  var host = "127.0.0.1"

  @Option(help: "The port to listen on (0 picks a free port and logs it).")
  var port = ServerConfiguration.defaultPort

  @Option(name: .customLong("data-dir"), help: "Where the database and step logs live.")
  var dataDirectory = "kiln-data"

  @Option(
    name: .customLong("store"),
    help: ArgumentHelp(
      "A PostgreSQL database to keep state in instead of SQLite (postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require|verify-full]); KILND_STORE (or KILN_STORE) if absent. Step logs stay under --data-dir.",
      valueName: "url"))
  var store: String?

  @Option(name: .customLong("job-types"), help: "A JSON file of job types (see README); built-in types if absent.")
  var jobTypesFile: String?

  @Option(name: .customLong("max-running"), help: "The most jobs running at once.")
  var maxRunning = 8

  @Option(name: .customLong("max-running-per-project"), help: "The most jobs running at once in one project.")
  var maxRunningPerProject = 4

  @Option(name: .customLong("stop-grace"), help: "Seconds between SIGTERM and SIGKILL when a step is stopped.")
  var stopGrace = 5.0

  @Option(
    name: .customLong("lease-seconds"),
    help: "Seconds a replica's claim on a running job lasts unless renewed (every third of it); with several kilnd on one PostgreSQL database, a dead replica's jobs are taken over this long after its last renewal.")
  var leaseSeconds = 30.0

  @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve TLS (with --tls-key).")
  var tlsCertificate: String?

  @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
  var tlsKey: String?

  @Option(name: .customLong("tls-client-ca"), help: "PEM CA file: require client certificates it signed (mutual TLS).")
  var tlsClientCA: String?

  @Flag(
    name: .customLong("insecure-no-auth"),
    help: "Accept calls without a token, each as an anonymous ADMIN. Only for a machine nobody else can reach.")
  var insecureNoAuth = false

  @Flag(
    name: .customLong("open-reflection"),
    help: "Answer server reflection (grpc.reflection.v1 and v1alpha: grpcurl list/describe) without a token. By default reflection needs a token like every call but health checks, so that a client without one can do no more than check health; the schema it reveals is the public Protos/.")
  var openReflection = false

  @Option(help: "Seconds of silence after which a watch sends a heartbeat.")
  var heartbeat = 5.0

  @Option(name: .customLong("watch-window"), help: "Recent events kept in memory for watchers; a watcher further behind is ended.")
  var watchWindow = 10_000

  @Option(name: .customLong("event-retention"), help: "The most events the event log keeps.")
  var eventRetention = 1_000_000

  @Option(name: .customLong("event-retention-hours"), help: "The longest time, in hours, the event log keeps an event.")
  var eventRetentionHours = 168.0

  @Option(
    name: .customLong("job-retention-days"),
    help: "Days a FINISHED or DISCARDED job is kept after its last change, then deleted with its logs; 0 keeps jobs forever.")
  var jobRetentionDays = 30.0

  @Option(name: .customLong("callback-timeout"), help: "Seconds one completion-callback attempt may take.")
  var callbackTimeout = 10.0

  @Option(name: .customLong("callback-max-attempts"), help: "Attempts after which an undelivered completion callback is given up.")
  var callbackMaxAttempts = 50

  @Flag(
    name: .customLong("unsafe-lose-commits-on-power-loss"),
    help: "Sync the database at checkpoints only (SQLite synchronous=NORMAL): faster commits, but a power loss or kernel crash can lose changes already acknowledged.")
  var unsafeLoseCommitsOnPowerLoss = false

  @Option(
    name: .customLong("max-connections"),
    help: "The most client connections open at once (default: 10,000, or what the descriptor limit affords).")
  var maxConnections: Int?

  @Option(name: .customLong("max-connections-per-address"), help: "The most connections open at once from one client address.")
  var maxConnectionsPerAddress = ConnectionLimits().maxConnectionsPerAddress

  @Option(name: .customLong("max-concurrent-streams"), help: "The most calls one connection may have open at once; more are refused (REFUSED_STREAM).")
  var maxConcurrentStreams = ConnectionLimits().maxConcurrentStreams

  @Option(name: .customLong("handshake-timeout"), help: "Seconds a new connection has to start HTTP/2 before it is closed.")
  var handshakeTimeout = 10.0

  @Option(name: .customLong("idle-timeout"), help: "Seconds a connection with no call open is kept; 0 keeps it for ever.")
  var idleTimeout = 300.0

  @Option(name: .customLong("write-stall-timeout"), help: "Seconds a call may be unable to write (its client not reading) before it is reset (RESOURCE_EXHAUSTED).")
  var writeStallTimeout = 60.0

  @Option(name: .customLong("close-grace"), help: "Seconds a connection told to go away (idle, or at shutdown) has to finish its calls before it is closed.")
  var closeGrace = 10.0

  @Option(
    name: .customLong("metrics-port"),
    help: "Serve Prometheus metrics on this port (GET /metrics, plain HTTP, no token); off unless given (0 picks a free port).")
  var metricsPort: Int?

  @Option(name: .customLong("metrics-host"), help: "The address the metrics endpoint listens on (--host unless given).")
  var metricsHost: String?

  @Option(
    name: .customLong("http-port"),
    help: "Serve the web job monitor and the HTTP/JSON face of every call on this port (plain HTTP/1.1, same tokens); off unless given (0 picks a free port).")
  var httpPort: Int?

  @Option(name: .customLong("http-host"), help: "The address the web monitor listens on (--host unless given).")
  var httpHost: String?

  @Option(
    name: .customLong("web-root"),
    help: ArgumentHelp("Serve the web monitor's page from this directory instead of the copy built into kilnd (for working on the page).", valueName: "dir"))
  var webRoot: String?

  @Option(
    name: .customLong("config"),
    help: ArgumentHelp("A JSON file of settings by option name ({\"port\": 7077, \"insecure-no-auth\": true}); KILND_CONFIG if absent.", valueName: "file"))
  var config: String?

  @Flag(name: .customLong("print-config"), help: "Print the effective configuration (each setting, its value and where it came from; secrets masked) and exit.")
  var printConfig = false

  @Option(name: .customLong("keepalive"), help: "Seconds without a read after which a connection is pinged (and closed if the ping goes unanswered for 20 s).")
  var keepalive = 120.0

  func validate() throws {
    guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    guard maxRunning > 0 else { throw ValidationError("--max-running must be at least 1") }
    guard maxRunningPerProject > 0 else { throw ValidationError("--max-running-per-project must be at least 1") }
    guard stopGrace >= 0 else { throw ValidationError("--stop-grace must not be negative") }
    guard leaseSeconds >= 0.3 else { throw ValidationError("--lease-seconds must be at least 0.3") }
    guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \(logLevel)") }
    guard (tlsCertificate == nil) == (tlsKey == nil) else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    guard tlsClientCA == nil || tlsCertificate != nil else {
      throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
    }
    for path in [tlsCertificate, tlsKey, tlsClientCA].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
      throw ValidationError("cannot read \(path)")
    }
    guard heartbeat > 0 else { throw ValidationError("--heartbeat must be positive") }
    guard watchWindow >= 100 else { throw ValidationError("--watch-window must be at least 100") }
    guard eventRetention >= 1 else { throw ValidationError("--event-retention must be at least 1") }
    guard eventRetentionHours > 0 else { throw ValidationError("--event-retention-hours must be positive") }
    guard jobRetentionDays >= 0 else { throw ValidationError("--job-retention-days must not be negative") }
    guard callbackTimeout > 0 else { throw ValidationError("--callback-timeout must be positive") }
    guard callbackMaxAttempts >= 1 else { throw ValidationError("--callback-max-attempts must be at least 1") }
    guard (maxConnections ?? 1) >= 1 else { throw ValidationError("--max-connections must be at least 1") }
    guard maxConnectionsPerAddress >= 1 else { throw ValidationError("--max-connections-per-address must be at least 1") }
    guard maxConcurrentStreams >= 1 else { throw ValidationError("--max-concurrent-streams must be at least 1") }
    guard handshakeTimeout > 0 else { throw ValidationError("--handshake-timeout must be positive") }
    guard idleTimeout >= 0 else { throw ValidationError("--idle-timeout must not be negative") }
    guard writeStallTimeout > 0 else { throw ValidationError("--write-stall-timeout must be positive") }
    guard closeGrace > 0 else { throw ValidationError("--close-grace must be positive") }
    guard keepalive > 0 else { throw ValidationError("--keepalive must be positive") }
    if let metricsPort {
      guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be between 0 and 65535") }
      guard metricsPort == 0 || metricsPort != port || (metricsHost ?? host) != host else {
        throw ValidationError("--metrics-port must differ from --port")
      }
    }
    if let httpPort {
      guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
      guard httpPort == 0 || httpPort != port || (httpHost ?? host) != host else {
        throw ValidationError("--http-port must differ from --port")
      }
      guard httpPort == 0 || httpPort != metricsPort || (httpHost ?? host) != (metricsHost ?? host) else {
        throw ValidationError("--http-port must differ from --metrics-port")
      }
    }
    if let webRoot {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: webRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("--web-root: \(webRoot) is not a directory")
      }
      guard httpPort != nil else { throw ValidationError("--web-root needs --http-port") }
    }
  }

  /// The entry point: the event loops become the global executor first if
  /// `KILN_GLOBAL_EXECUTOR=nio` asks for it (see ``EventLoopExecutor``), then the command
  /// line is parsed and run.
  static func main() async {
    EventLoopExecutor.installIfAsked()
    switch layers {
    case .success(let (arguments, sources)):
      // A bad value from the environment or the file: say where it came from, beside
      // the parser's own message (which names only the option).
      do {
        _ = try parse(arguments)
      } catch {
        let message = fullMessage(for: error)
        for (name, source) in sources where source != .flag && message.contains("--\(name)") {
          let origin = source == .file ? "the --config file" : ConfigurationLayers.environmentName(name)
          FileHandle.standardError.write(Data("kilnd: --\(name) came from \(origin)\n".utf8))
        }
        exit(withError: error)
      }
      await main(arguments)
    case .failure(let error): exit(withError: error)
    }
  }

  /// The command line merged with the environment and the configuration file (see
  /// ``ConfigurationLayers``), and where each setting came from.
  static let layers = Result { () throws -> (arguments: [String], sources: [String: ConfigurationLayers.Source]) in
    try ConfigurationLayers.merge(
      commandLine: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
      settings: Kilnd.parse([]).settings)
  }

  func run() async throws {
    if printConfig {
      print(effectiveConfiguration(sources: (try? Self.layers.get().sources) ?? [:]))
      return
    }
    let level = Logger.Level(rawValue: logLevel) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "kilnd")

    var catalog: JobTypeCatalog?
    if let jobTypesFile {
      do {
        catalog = try JobTypeCatalog.decode(json: try Data(contentsOf: URL(fileURLWithPath: jobTypesFile)))
      } catch {
        throw ValidationError("--job-types \(jobTypesFile): \(error)")
      }
    }
    var configuration = ServerConfiguration(
      host: host, port: port, dataDirectory: URL(fileURLWithPath: dataDirectory), jobTypes: catalog,
      maxRunningJobs: maxRunning, maxRunningJobsPerProject: maxRunningPerProject,
      stopGracePeriod: .milliseconds(Int64(stopGrace * 1000)))
    if let tlsCertificate, let tlsKey {
      configuration.tls = ServerTLS(certificateChainPath: tlsCertificate, privateKeyPath: tlsKey, clientCAPath: tlsClientCA)
    }
    configuration.requiresAuthentication = !insecureNoAuth
    configuration.reflectionRequiresAuthentication = !openReflection
    configuration.leaseDuration = .milliseconds(Int64(leaseSeconds * 1000))
    if let url = store {
      do {
        _ = try PostgresURL.configuration(from: url)
      } catch let error as KilnError {
        throw ValidationError("--store: \(error.message)")
      }
      configuration.storeURL = url
    }
    configuration.heartbeatInterval = .milliseconds(Int64(heartbeat * 1000))
    configuration.watchWindow = watchWindow
    configuration.eventRetentionCount = eventRetention
    configuration.eventRetentionAge = .milliseconds(Int64((eventRetentionHours * 3_600_000).rounded(.up)))
    // In milliseconds: a fraction of a day must not round down to 0, which keeps jobs forever.
    configuration.jobRetentionAge = jobRetentionDays == 0 ? .zero : .milliseconds(max(1, Int64(jobRetentionDays * 86_400_000)))
    configuration.callbacks.timeout = .milliseconds(Int64(callbackTimeout * 1000))
    configuration.callbacks.maxAttempts = callbackMaxAttempts
    configuration.durableCommits = !unsafeLoseCommitsOnPowerLoss
    let descriptors = DescriptorBudget.raise()
    logger.info(
      "descriptor limit \(descriptors.limit)\(descriptors.limit > descriptors.previous ? " (raised from \(descriptors.previous))" : "")")
    if let maxConnections {
      if maxConnections > descriptors.connectionCapacity {
        logger.warning(
          "--max-connections \(maxConnections) is more than the descriptor limit \(descriptors.limit) affords (\(descriptors.connectionCapacity) with \(DescriptorBudget.reserved) kept for the database and steps)")
      }
      configuration.connectionLimits.maxConnections = maxConnections
    } else {
      configuration.connectionLimits.maxConnections = min(10_000, descriptors.connectionCapacity)
    }
    configuration.connectionLimits.maxConnectionsPerAddress = maxConnectionsPerAddress
    configuration.connectionLimits.maxConcurrentStreams = maxConcurrentStreams
    configuration.connectionLimits.handshakeTimeout = .milliseconds(Int64(handshakeTimeout * 1000))
    configuration.idleTimeout = idleTimeout == 0 ? nil : .milliseconds(Int64(idleTimeout * 1000))
    configuration.keepaliveInterval = .milliseconds(Int64(keepalive * 1000))
    configuration.closeGracePeriod = .milliseconds(Int64(closeGrace * 1000))
    configuration.connectionLimits.writeStallTimeout = .milliseconds(Int64(writeStallTimeout * 1000))
    configuration.metricsPort = metricsPort
    configuration.metricsHost = metricsHost
    configuration.httpPort = httpPort
    configuration.httpHost = httpHost
    configuration.webRoot = webRoot.map { URL(fileURLWithPath: $0, isDirectory: true) }
    let application: KilnApplication
    do {
      application = try await KilnApplication(configuration: configuration, logger: logger)
    } catch let error as StartupError {
      logger.critical("kilnd cannot start: \(error.message)")
      throw ExitCode(69)  // EX_UNAVAILABLE
    }
    // What kilnd's dependencies record through swift-metrics lands on the same registry.
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: application.metrics.registry))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await application.run() }
      group.addTask {
        let port = try await application.listeningPort
        logger.notice("kilnd listening on \(host):\(port)")
      }
      try await group.waitForAll()
    }
    logger.notice("kilnd stopped")
  }
}
