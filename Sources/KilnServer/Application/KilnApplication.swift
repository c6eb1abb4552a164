public import Foundation
import GRPCCore
import GRPCInProcessTransport
import KilnWeb
import KilnProto
public import GRPCNIOTransportHTTP2
import KilnCore
public import KilnAccess
public import KilnCallbacks
public import KilnEngine
public import KilnWatch
import KilnPostgresStore
import KilnStore
public import Logging
import ServiceLifecycle
import Synchronization
public import KilnMetrics
import UnixSignals

#if canImport(Glibc)
  import Glibc
#endif

/// The whole server: store, engine and gRPC endpoint, started and stopped together.
///
/// `kilnd` and the tests build exactly this, so the tests start what users start.
/// ``run()`` runs until SIGTERM/SIGINT (when the configuration handles signals) or
/// ``shutdown()``: the gRPC server stops accepting calls and lets in-flight ones
/// finish, then the engine stops running steps and requeues their jobs.
public final class KilnApplication: Sendable {
  /// The configuration the application was built with.
  public let configuration: ServerConfiguration
  /// The engine, for tests and embedding.
  public let engine: JobEngine
  /// The event log's compactor, for tests and embedding.
  public let compactor: EventLogCompactor
  /// The fan-out of events to watchers, for tests, benchmarks and embedding.
  public let hub: EventHub
  /// Projects, users, roles and tokens, for tests and embedding.
  public let access: AccessManager
  /// The streaming calls in progress, by user and token (the access manager's).
  public var openStreams: OpenStreams { access.openStreams }
  /// Where the first start writes the first ADMIN's token (readable by its owner only).
  public var adminTokenFile: URL { configuration.dataDirectory.appendingPathComponent("admin.token") }
  /// Deletes expired FINISHED and DISCARDED jobs with their logs, for tests and embedding.
  public let retention: JobRetention
  /// Delivers completion callbacks, for tests and embedding.
  public let callbacks: CallbackDeliverer
  /// Every metric the server records (served on ``ServerConfiguration/metricsPort``).
  public let metrics: KilnMetrics
  /// The metrics endpoint's port once it listens.
  private let metricsBound = BoundPort()
  /// The web monitor's port once it listens.
  private let httpBound = BoundPort()
  private let transport: HTTP2ServerTransport.Posix
  private let lock: DataDirectoryLock
  /// Closes the store's connections (PostgreSQL's) once the services have stopped.
  private let closeStore: @Sendable () async -> Void
  private let serviceGroup: ServiceGroup
  private let logger: Logger

  /// Opens the data directory (creating it and the database on first start) and
  /// builds the services. Nothing listens until ``run()``.
  ///
  /// - Throws: When the data directory or the database cannot be opened.
  public init(configuration: ServerConfiguration, logger: Logger) async throws {
    self.configuration = configuration
    self.logger = logger
    let fileManager = FileManager.default
    let dataPath = configuration.dataDirectory.path
    do {
      try fileManager.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
    } catch {
      throw StartupError("cannot create the data directory \(dataPath): \(Self.reason(error))")
    }
    guard Glibc.access(dataPath, R_OK | W_OK | X_OK) == 0 else {
      throw StartupError("cannot use the data directory \(dataPath): \(String(cString: strerror(errno)))")
    }
    lock = try DataDirectoryLock(directory: configuration.dataDirectory)
    let logsDirectory = configuration.dataDirectory.appendingPathComponent("logs", isDirectory: true)
    do {
      try fileManager.createDirectory(at: logsDirectory, withIntermediateDirectories: true)
    } catch {
      throw StartupError("cannot create the step-log directory \(logsDirectory.path): \(Self.reason(error))")
    }
    let metrics = KilnMetrics()
    self.metrics = metrics
    let store: any JobStore & AccessStore
    let databaseDescription: String
    if let storeURL = configuration.storeURL {
      let postgres: PostgresJobStore
      do {
        postgres = try await PostgresJobStore(url: storeURL, metrics: metrics, logger: logger)
      } catch {
        throw StartupError("cannot open the PostgreSQL store \(PostgresURL.redacted(storeURL)): \(Self.reason(error))")
      }
      store = postgres
      closeStore = { await postgres.close() }
      databaseDescription = PostgresURL.redacted(storeURL)
    } else {
      let databasePath = configuration.dataDirectory.appendingPathComponent("kiln.sqlite").path
      do {
        store = try SQLiteJobStore(
          path: databasePath, synchronous: configuration.durableCommits ? .full : .normal, metrics: metrics)
      } catch {
        throw StartupError("cannot open the database \(databasePath): \(Self.reason(error))")
      }
      closeStore = {}
      databaseDescription = databasePath
    }

    let replicaID = try ReplicaIdentity.load(dataDirectory: configuration.dataDirectory)
    var engineConfiguration = EngineConfiguration(
      maxRunningJobs: configuration.maxRunningJobs,
      maxRunningJobsPerProject: configuration.maxRunningJobsPerProject, logsDirectory: logsDirectory,
      stopGracePeriod: configuration.stopGracePeriod, progressInterval: configuration.progressInterval)
    engineConfiguration.replicaID = replicaID
    engineConfiguration.leaseDuration = configuration.leaseDuration
    // With PostgreSQL other kilnd may share the database and change this one's jobs.
    engineConfiguration.followsOtherReplicas = configuration.storeURL != nil
    engineConfiguration.metrics = metrics

    // A job's completion callbacks go to its type's URL and to its project's.
    let catalog = configuration.jobTypes ?? .builtin
    let projectCallbacks = ProjectCallbackURLs()
    engine = JobEngine(store: store, catalog: catalog, configuration: engineConfiguration, logger: logger)
    store.setCallbackTrigger(
      CallbackRule.trigger(CallbackTargets.jobTypes(catalog).adding(projectCallbacks.targets), logger: logger))

    // Before binding: a previous server's steps (which, before step descriptors were
    // closed at spawn, could hold this very port) are gone, and the port is free.
    await engine.killLeftoverSteps()
    try PortCheck.ensureFree(host: configuration.host, port: configuration.port)

    var transportConfig = Self.transportBaseConfiguration()
    // NIO's HTTP/2 closes the whole connection of a client that goes past the stream
    // limit it advertises (GOAWAY PROTOCOL_ERROR), and enforces 100 when none is given:
    // it is told the protocol's largest value, and RequestStreamGuard refuses the one
    // stream past ConnectionLimits.maxConcurrentStreams instead (REFUSED_STREAM).
    transportConfig.http2.maxConcurrentStreams = Int(Int32.max)
    transportConfig.connection.maxIdleTime = configuration.idleTimeout
    // After its GOAWAY a connection has this long to close: a client that never answers
    // the shutdown ping would otherwise keep it open for ever.
    transportConfig.connection.maxGraceTime = configuration.closeGracePeriod
    transportConfig.connection.keepalive.time = configuration.keepaliveInterval
    transportConfig.connection.keepalive.timeout = configuration.keepaliveTimeout
    // Every connection and every stream passes the guards of the edge before
    // grpc-swift reads them.
    let connections = ConnectionCounter(limits: configuration.connectionLimits)
    let maxMessageBytes = transportConfig.rpc.maxRequestPayloadSize
    let closeGrace = configuration.closeGracePeriod
    let writeStallTimeout = configuration.connectionLimits.writeStallTimeout
    transportConfig.channelDebuggingCallbacks.onAcceptTCPConnection = {
      ConnectionGuard.install(on: $0, counter: connections, closeGrace: closeGrace, logger: logger)
    }
    transportConfig.channelDebuggingCallbacks.onAcceptHTTP2Stream = {
      RequestStreamGuard.install(on: $0, maxMessageBytes: maxMessageBytes, writeStallTimeout: writeStallTimeout)
    }
    transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: configuration.host, port: configuration.port),
      transportSecurity: Self.transportSecurity(configuration.tls), config: transportConfig)
    hub = EventHub(
      store: store, startRevision: try await store.currentRevision(),
      configuration: .init(window: configuration.watchWindow), metrics: metrics, logger: logger)
    let watcher = JobWatcher(
      engine: engine, hub: hub, heartbeatInterval: configuration.heartbeatInterval, metrics: metrics)
    compactor = EventLogCompactor(
      store: store, keepEvents: configuration.eventRetentionCount, keepFor: configuration.eventRetentionAge,
      interval: configuration.compactionInterval, logger: logger)
    access = AccessManager(store: store, engine: engine, projectCallbacks: projectCallbacks, logger: logger)
    try await access.loadProjectCallbacks()
    let audit = AuditTrail(access: access, refusalsPerSecond: configuration.unauthenticatedAuditRowsPerSecond)
    retention = JobRetention(
      store: store, stepLogs: engine.stepLogs, keepFor: configuration.jobRetentionAge,
      interval: configuration.jobRetentionInterval, logger: logger)
    callbacks = CallbackDeliverer(store: store, configuration: configuration.callbacks, metrics: metrics, logger: logger)
    let jobService = JobService(
      engine: engine, watcher: watcher, pageTokenSecret: try await store.secret(named: "page-token"), audit: audit,
      logger: logger)
    let stopping = Signal()
    var services: [any RegistrableRPCService] = [
      jobService,
      ProjectService(access: access, audit: audit, logger: logger),
      SubjectService(engine: engine, audit: audit, logger: logger),
      AccessService(
        access: access, audit: audit,
        authenticationEnabled: configuration.requiresAuthentication, logger: logger),
      HealthService(stopping: stopping),
    ]
    let reflection = try Self.reflectionService(listing: services)
    services += [reflection, reflection.v1alpha]
    let resolver = TokenCallerResolver(access: access, allowsAnonymous: !configuration.requiresAuthentication)
    var openServices = CallerInterceptor.alwaysOpenServices
    if !configuration.reflectionRequiresAuthentication { openServices.formUnion(ReflectionService.serviceNames) }
    let interceptors: [any ServerInterceptor] =
      [
        RPCMetricsInterceptor(metrics: metrics), DeadlineInterceptor(),
        CallerInterceptor(resolver: resolver, streams: access.openStreams, audit: audit, openServices: openServices),
        CallOutcomeInterceptor(audit: audit, logger: logger),
      ] + configuration.additionalInterceptors
    let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)

    // First, so it is shut down last: a scrape during shutdown still sees the server.
    var endpoints: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let metricsPort = configuration.metricsPort {
      let bound = metricsBound
      endpoints.append(
        .init(
          service: MetricsEndpoint(metrics: metrics).application(
            host: configuration.metricsHost ?? configuration.host, port: metricsPort, logger: logger,
            bound: { bound.set($0) })))
    }
    // The HTTP face calls the same services through the same interceptors, in process.
    var web: [ServiceGroupConfiguration.ServiceConfiguration] = []
    if let httpPort = configuration.httpPort {
      let inProcess = InProcessTransport()
      let webServer = GRPCServer(transport: inProcess.server, services: services, interceptors: interceptors)
      let client = GRPCClient(transport: inProcess.client)
      let endpoint = WebEndpoint(
        bridge: RPCBridge(client: client), csrfSecret: try await store.secret(named: "web-csrf"),
        page: PageFiles(directory: configuration.webRoot),
        // The gRPC port's counter: the connection limits bound both ports together.
        admission: WebConnectionAdmission(admit: { connections.admit($0) }, release: { connections.release($0) }),
        tls: try configuration.tls.map { tls in
          do {
            return try WebEndpoint.tlsConfiguration(
              certificateChainPath: tls.certificateChainPath, privateKeyPath: tls.privateKeyPath,
              clientCAPath: tls.clientCAPath)
          } catch {
            throw StartupError("cannot serve the web monitor over TLS: \(Self.reason(error))")
          }
        },
        logger: logger)
      let bound = httpBound
      web = [
        .init(service: InProcessGRPC(server: webServer, client: client)),
        .init(
          service: endpoint.application(
            host: configuration.httpHost ?? configuration.host, port: httpPort, bound: { bound.set($0) })),
      ]
    }
    serviceGroup = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        // Started in this order, shut down in reverse: the hub first ends every watch
        // (after sending what was committed), then in-flight calls finish, then the
        // engine stops running steps. Callback delivery stops before the engine: attempts
        // it cuts short stay queued for the next start.
        services: endpoints + [
          .init(service: engine),
          // One replica at a time delivers callbacks, or each would post every one.
          .init(service: OneReplicaAtATime(service: callbacks, store: store as? PostgresJobStore, lockKey: 7_077_003)),
          .init(service: compactor),
          .init(service: retention),
          .init(service: GRPCServerService(server: server)),
        ] + web + [
          // Before the hub, so it is shut down after it (and sees the hub end).
          .init(service: JobCountGauges(hub: hub, store: store, metrics: metrics, logger: logger)),
          .init(service: hub),
          .init(service: MemoryTrimmer()),
          .init(service: ShutdownAnnouncer(signal: stopping)),
        ],
        gracefulShutdownSignals: configuration.handlesSignals ? [.sigterm, .sigint] : [],
        logger: logger))
    try await announceAccess()
    if configuration.tls == nil {
      logger.notice("serving plaintext HTTP/2; give --tls-cert and --tls-key to serve TLS")
    }
    logger.info(
      "data directory ready",
      metadata: ["path": "\(configuration.dataDirectory.path)", "database": "\(databaseDescription)"])
  }

  /// Creates the first ADMIN on first start, or warns loudly that anyone is one.
  private func announceAccess() async throws {
    guard configuration.requiresAuthentication else {
      try await access.createDefaultProjectIfNone()
      logger.critical(
        "AUTHENTICATION IS OFF (--insecure-no-auth): anyone who can connect to \(configuration.host) is an ADMIN of every project")
      return
    }
    if try await access.bootstrap(tokenFile: adminTokenFile) {
      try await access.createDefaultProjectIfNone()
      logger.notice(
        "first start: created the ADMIN user 'admin'; its token is in \(adminTokenFile.path) (readable by you only). Use it with: export KILN_TOKEN=$(cat \(adminTokenFile.path))")
    }
  }

  /// Reflection over the descriptor set built into kilnd (`Protos/kiln.protoset`),
  /// listing `services` and the reflection services themselves.
  static func reflectionService(listing services: [any RegistrableRPCService]) throws -> ReflectionService {
    var router = RPCRouter<HTTP2ServerTransport.Posix>()
    for service in services { service.registerMethods(with: &router) }
    let served = router.methods.map(\.service.fullyQualifiedService) + ReflectionService.serviceNames
    do {
      return try ReflectionService(
        index: FileDescriptorIndex(serializedSet: KilnDescriptorSet.serialized), servedServices: served)
    } catch let error as KilnError {
      throw StartupError("cannot serve reflection: \(error.message)")
    }
  }

  /// The transport settings kilnd shares with the ceiling of its benchmarks (an empty
  /// handler on the same stack): grpc-swift's defaults and the performance settings
  /// below, without Kiln's guards and limits.
  public static func transportBaseConfiguration() -> HTTP2ServerTransport.Posix.Config {
    var config = HTTP2ServerTransport.Posix.Config.defaults
    if ProcessInfo.processInfo.environment[flushCoalescingVariable] == "off" { config.connection.flushCoalescing = nil }
    return config
  }

  /// The environment variable that turns grpc-swift's flush coalescing (writes gathered
  /// for up to 100 µs into one) off when it is `off`; it is on by default.
  public static let flushCoalescingVariable = "KILN_FLUSH_COALESCING"

  static func transportSecurity(_ tls: ServerTLS?) -> HTTP2ServerTransport.Posix.TransportSecurity {
    guard let tls else { return .plaintext }
    let chain: [TLSConfig.CertificateSource] = [.file(path: tls.certificateChainPath, format: .pem)]
    let key: TLSConfig.PrivateKeySource = .file(path: tls.privateKeyPath, format: .pem)
    guard let clientCA = tls.clientCAPath else { return .tls(certificateChain: chain, privateKey: key) }
    return .mTLS(certificateChain: chain, privateKey: key) { config in
      config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
    }
  }

  /// Runs the server until shutdown.
  public func run() async throws {
    defer { lock.release() }
    do {
      try await serviceGroup.run()
    } catch {
      await closeStore()
      throw error
    }
    await closeStore()
  }

  /// An error's cause in a few words (Foundation's descriptions of POSIX errors are long).
  static func reason(_ error: any Error) -> String {
    if let error = error as? CocoaError, let underlying = error.underlying as? POSIXError {
      return String(cString: strerror(underlying.code.rawValue))
    }
    return "\(error)"
  }

  /// The port the server listens on, once it does (useful with port 0).
  public var listeningPort: Int {
    get async throws {
      let address = try await transport.listeningAddress
      guard let port = address.ipv4?.port ?? address.ipv6?.port else {
        throw KilnError(code: .internalError, message: "the server listens on \(address), not an IP port")
      }
      return port
    }
  }

  /// The port the web monitor (``ServerConfiguration/httpPort``) listens on, once it
  /// does; `nil` when it is off.
  public var httpPort: Int? {
    get async {
      guard configuration.httpPort != nil else { return nil }
      return await httpBound.value()
    }
  }

  /// The port the metrics endpoint listens on, once it does; `nil` when it is off.
  public var metricsPort: Int? {
    get async {
      guard configuration.metricsPort != nil else { return nil }
      return await metricsBound.value()
    }
  }

  /// Starts a graceful shutdown; ``run()`` returns when it is done.
  public func shutdown() async {
    await serviceGroup.triggerGracefulShutdown()
  }
}

/// Fires a signal when graceful shutdown begins (it is the last service, so the first
/// told): health watches report NOT_SERVING before anything else stops.
struct ShutdownAnnouncer: Service {
  let signal: Signal

  func run() async throws {
    try? await gracefulShutdown()
    signal.fire()
  }
}

/// Runs a `GRPCServer` as a `Service`: serves until graceful shutdown, then lets
/// in-flight calls finish.
/// The in-process gRPC server the HTTP face calls, with its client: both run until the
/// group shuts down (after the web endpoint, which is listed after them).
struct InProcessGRPC: Service {
  let server: GRPCServer<InProcessTransport.Server>
  let client: GRPCClient<InProcessTransport.Client>

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.serve() }
        group.addTask { try await client.runConnections() }
      }
    } onGracefulShutdown: {
      client.beginGracefulShutdown()
      server.beginGracefulShutdown()
    }
  }
}

struct GRPCServerService: Service {
  let server: GRPCServer<HTTP2ServerTransport.Posix>

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await server.serve()
    } onGracefulShutdown: {
      server.beginGracefulShutdown()
    }
  }
}

/// A port that becomes known once a listener has bound it.
final class BoundPort: Sendable {
  private let port = Mutex<Int?>(nil)
  private let known = Signal()

  /// Records the port and wakes whoever waits for it.
  func set(_ value: Int) {
    port.withLock { $0 = value }
    known.fire()
  }

  /// The port, once it is set (or `nil` if the waiting task is cancelled first).
  func value() async -> Int? {
    await known.wait()
    return port.withLock { $0 }
  }
}
