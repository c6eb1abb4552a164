public import Foundation
public import GRPCCore
public import KilnCore
public import KilnCallbacks
public import KilnEngine

/// Everything `kilnd` can be told: where to listen, where to keep data, what to run.
public struct ServerConfiguration: Sendable {
  /// The default port `kilnd` listens on.
  public static let defaultPort = 7077

  /// The address to listen on.
  public var host: String
  /// The port to listen on; 0 picks a free one (tests).
  public var port: Int
  /// Where the database and the step logs live; created if missing.
  public var dataDirectory: URL
  /// The PostgreSQL database to keep state in (`postgres://USER@HOST/DB`, see
  /// `PostgresURL`) instead of SQLite under ``dataDirectory``; step logs, the admin
  /// token file and the lock stay in ``dataDirectory``.
  public var storeURL: String?
  /// How long a replica's claim on a running job lasts unless renewed; with several
  /// kilnd on one PostgreSQL database, a dead replica's jobs are taken over this long
  /// after its last renewal.
  public var leaseDuration: Duration = .seconds(30)
  /// The job types; the built-in simulated types when `nil`.
  public var jobTypes: JobTypeCatalog?
  /// The most jobs running at once.
  public var maxRunningJobs: Int
  /// The most jobs running at once in one project.
  public var maxRunningJobsPerProject: Int
  /// Time between SIGTERM and SIGKILL for a stopped step's process group.
  public var stopGracePeriod: Duration
  /// The shortest interval between two progress events of one job.
  public var progressInterval: Duration
  /// Whether SIGTERM and SIGINT shut the server down (off in tests that run several servers).
  public var handlesSignals: Bool
  /// How long a watch stays silent before it sends a heartbeat.
  public var heartbeatInterval: Duration = .seconds(5)
  /// The recent events kept in memory for watchers; a watcher further behind is ended.
  public var watchWindow: Int = 10_000
  /// The most events the event log keeps.
  public var eventRetentionCount: Int = 1_000_000
  /// The longest time the event log keeps an event.
  public var eventRetentionAge: Duration = .seconds(7 * 24 * 3600)
  /// Time between two compactions of the event log.
  public var compactionInterval: Duration = .seconds(60)
  /// How long a FINISHED or DISCARDED job is kept after its last change before it is
  /// deleted with its logs (Kylin's default: 30 days); `.zero` keeps jobs forever.
  public var jobRetentionAge: Duration = .seconds(30 * 24 * 3600)
  /// Time between two sweeps for expired jobs.
  public var jobRetentionInterval: Duration = .seconds(600)
  /// How completion callbacks are delivered: concurrency, timeout, backoff, attempts.
  public var callbacks: CallbackConfiguration = .init()
  /// The most calls (watches included) one HTTP/2 connection may have open at once
  /// (``ConnectionLimits/maxConcurrentStreams``).
  public var maxConcurrentStreams: Int {
    get { connectionLimits.maxConcurrentStreams }
    set { connectionLimits.maxConcurrentStreams = newValue }
  }
  /// Bounds on connections and on each connection's streams.
  public var connectionLimits = ConnectionLimits()
  /// A connection with no call open for this long is closed (HTTP/2 GOAWAY, then close);
  /// `nil` keeps idle connections for ever.
  public var idleTimeout: Duration? = .seconds(300)
  /// How long a connection told to go away (idle, or the server stopping) may take to
  /// finish its calls before it is closed.
  public var closeGracePeriod: Duration = .seconds(10)
  /// After this long without reading from a connection the server pings it, and closes
  /// it when no answer comes within ``keepaliveTimeout``: a client that vanished
  /// without closing (a dead host, a dropped network) does not hold its calls for ever.
  public var keepaliveInterval: Duration = .seconds(120)
  /// How long a keepalive ping may go unanswered.
  public var keepaliveTimeout: Duration = .seconds(20)
  /// Whether every call (but health checks) must carry a valid bearer token. When off,
  /// a call without a token is an anonymous ADMIN: for a laptop, never for a shared host.
  public var requiresAuthentication: Bool = true
  /// Whether server reflection (`grpc.reflection.v1` and `v1alpha`, what grpcurl
  /// `list` and `describe` use) needs a valid bearer token, as every other call but
  /// health checks does. On by default, so that the default opens nothing more to a
  /// client without a token than health checks; off (`kilnd --open-reflection`),
  /// anyone who can connect may read the schema, which is public (it is `Protos/`),
  /// and nothing else. Without ``requiresAuthentication`` every call is open anyway.
  public var reflectionRequiresAuthentication: Bool = true
  /// Whether an acknowledged change is on disk before its reply (`PRAGMA synchronous =
  /// FULL`: the WAL is synced at every commit). When off (`NORMAL`), a crash of the
  /// process loses nothing, but a power loss or kernel crash can lose the changes
  /// acknowledged since the last checkpoint.
  public var durableCommits: Bool = true
  /// How many calls refused for want of a valid token the audit trail records per
  /// second (bursts of ten times as many); the rest are counted in the next row.
  public var unauthenticatedAuditRowsPerSecond: Int = 10
  /// Serve over TLS with this certificate and key; plaintext when `nil`.
  public var tls: ServerTLS?
  /// Interceptors that run after Kiln's own (for embedding, and for fault injection in tests).
  /// The port of the Prometheus metrics endpoint (`GET /metrics`); off when `nil`
  /// (0 picks a free port: see ``KilnApplication/metricsPort``).
  public var metricsPort: Int?
  /// The address the metrics endpoint listens on; ``host`` when `nil`.
  public var metricsHost: String?
  /// The port of the web job monitor and the HTTP/JSON face (`KilnWeb`); off when
  /// `nil` (0 picks a free port: see ``KilnApplication/httpPort``).
  public var httpPort: Int?
  /// The address the web monitor listens on; ``host`` when `nil`.
  public var httpHost: String?
  /// Serve the page from this directory rather than the copy built into kilnd.
  public var webRoot: URL?
  public var additionalInterceptors: [any ServerInterceptor] = []

  /// Creates a configuration with the documented defaults.
  public init(
    host: String = "127.0.0.1", port: Int = ServerConfiguration.defaultPort,
    dataDirectory: URL = URL(fileURLWithPath: "kiln-data"), jobTypes: JobTypeCatalog? = nil,
    maxRunningJobs: Int = 8, maxRunningJobsPerProject: Int = 4, stopGracePeriod: Duration = .seconds(5),
    progressInterval: Duration = .milliseconds(500), handlesSignals: Bool = true
  ) {
    self.host = host
    self.port = port
    self.dataDirectory = dataDirectory
    self.jobTypes = jobTypes
    self.maxRunningJobs = maxRunningJobs
    self.maxRunningJobsPerProject = maxRunningJobsPerProject
    self.stopGracePeriod = stopGracePeriod
    self.progressInterval = progressInterval
    self.handlesSignals = handlesSignals
  }
}

/// The server's TLS material, as PEM files.
public struct ServerTLS: Sendable, Hashable {
  /// The server's certificate chain, leaf first.
  public var certificateChainPath: String
  /// The server's private key.
  public var privateKeyPath: String
  /// If set, clients must present a certificate signed by one of these CAs (mutual TLS).
  public var clientCAPath: String?

  /// Creates TLS settings.
  public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
    self.certificateChainPath = certificateChainPath
    self.privateKeyPath = privateKeyPath
    self.clientCAPath = clientCAPath
  }
}
