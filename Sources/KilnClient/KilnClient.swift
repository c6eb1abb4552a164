public import KilnCore
import Foundation
public import GRPCCore
package import GRPCNIOTransportHTTP2
package import KilnProto

// The domain types the SDK's API takes and returns, re-exported by name, so that
// `import KilnClient` is all a user writes; the rest of KilnCore (the state machine,
// the job-type catalog, limits) is the server's business.
@_exported import struct KilnCore.Job
@_exported import struct KilnCore.Step
@_exported import struct KilnCore.CallbackDelivery
@_exported import enum KilnCore.JobStatus
@_exported import enum KilnCore.JobAction
@_exported import struct KilnCore.JobFilter
@_exported import struct KilnCore.JobOrder
@_exported import struct KilnCore.KilnError
@_exported import enum KilnCore.DetailKey
@_exported import struct KilnCore.Project
@_exported import struct KilnCore.User
@_exported import enum KilnCore.ProjectRole
@_exported import struct KilnCore.AccessToken
@_exported import struct KilnCore.AuditEvent
@_exported import struct KilnCore.AuditFilter
@_exported import struct KilnCore.Subject
@_exported import struct KilnCore.SubjectChange

/// A connection to a Kiln server, with one typed method for every `kiln.v1` RPC.
///
/// Create one with ``withKilnClient(_:_:)``, which connects, runs your code and closes
/// the connection. Every method takes and returns the SDK's value types (``Job``,
/// ``JobFilter``, ``JobAction``, ``WatchEvent``...), throws ``KilnError``, applies the
/// configured deadline, and retries when the server is unreachable. Mutations carry a
/// request id that is reused on retries, so a retry after a lost reply never acts twice.
///
/// ```swift
/// try await withKilnClient(.init(host: "127.0.0.1", port: 7077)) { kiln in
///   let job = try await kiln.submitJob(project: "sales", type: "INDEX_BUILD", subject: "sales_model")
///   let done = try await kiln.waitForJob(job.id)
///   print(done.status)  // FINISHED
/// }
/// ```
public struct KilnClient: Sendable {
  /// How the client connects and behaves.
  public let configuration: KilnClientConfiguration
  /// The generated `kiln.v1.JobService` client, for the package's own tests and tools;
  /// the generated types stay out of the SDK's public API.
  package let jobService: Kiln_V1_JobService.Client<HTTP2ClientTransport.Posix>
  /// The generated `kiln.v1.ProjectService` client.
  package let projectService: Kiln_V1_ProjectService.Client<HTTP2ClientTransport.Posix>
  /// The generated `kiln.v1.AccessService` client.
  package let accessService: Kiln_V1_AccessService.Client<HTTP2ClientTransport.Posix>
  /// The generated `kiln.v1.SubjectService` client.
  package let subjectService: Kiln_V1_SubjectService.Client<HTTP2ClientTransport.Posix>
  /// The generated `grpc.health.v1.Health` client.
  package let health: Grpc_Health_V1_Health.Client<HTTP2ClientTransport.Posix>

  init(grpcClient: GRPCClient<HTTP2ClientTransport.Posix>, configuration: KilnClientConfiguration) {
    self.configuration = configuration
    self.jobService = Kiln_V1_JobService.Client(wrapping: grpcClient)
    self.projectService = Kiln_V1_ProjectService.Client(wrapping: grpcClient)
    self.accessService = Kiln_V1_AccessService.Client(wrapping: grpcClient)
    self.subjectService = Kiln_V1_SubjectService.Client(wrapping: grpcClient)
    self.health = Grpc_Health_V1_Health.Client(wrapping: grpcClient)
  }

  /// Call options and metadata for one attempt of a call.
  func callOptions(timeout: Duration? = nil) -> CallOptions {
    var options = CallOptions.defaults
    options.timeout = timeout ?? configuration.timeout
    return options
  }

  /// Metadata for one call; the token is added to every call by ``BearerTokenInterceptor``.
  var metadata: Metadata { [:] }
}

/// Adds `authorization: Bearer <token>` to every call of a client, the generated
/// service clients included. ``withKilnClient(_:_:)`` installs it when the configuration
/// has a token; give it to `withGRPCClient` when using the generated clients directly.
public struct BearerTokenInterceptor: ClientInterceptor {
  let token: String

  /// Creates the interceptor.
  public init(token: String) {
    self.token = token
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>, context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    if request.metadata[stringValues: "authorization"].first(where: { _ in true }) == nil {
      request.metadata.addString("Bearer \(token)", forKey: "authorization")
    }
    return try await next(request, context)
  }
}

/// How a ``KilnClient`` connects and behaves.
public struct KilnClientConfiguration: Sendable {
  /// The server's host name or address.
  public var host: String
  /// The server's port (kilnd's default is 7077).
  public var port: Int
  /// A bearer token sent with every call, once the server requires one.
  public var token: String?
  /// The deadline of each attempt of a unary call.
  public var timeout: Duration
  /// How unreachable-server failures are retried.
  public var retry: RetryPolicy
  /// Connect over TLS; plaintext when `nil`.
  public var tls: ClientTLS?

  /// Creates a configuration.
  public init(
    host: String = "127.0.0.1", port: Int = 7077, token: String? = nil, timeout: Duration = .seconds(30),
    retry: RetryPolicy = .init(), tls: ClientTLS? = nil
  ) {
    self.host = host
    self.port = port
    self.token = token
    self.timeout = timeout
    self.retry = retry
    self.tls = tls
  }

  /// Reads `KILN_ADDR` (`host:port`), `KILN_TOKEN` (or `KILN_TOKEN_FILE`, a file holding
  /// the token, such as kilnd's `admin.token`), `KILN_CA_FILE`, and `KILN_TLS_CERT` with
  /// `KILN_TLS_KEY` (a client certificate, for mutual TLS) from the environment, with
  /// the defaults for what is missing.
  ///
  /// - Throws: ``KilnError`` (invalid argument) when `KILN_ADDR` is not `host:port` or
  ///   `KILN_TOKEN_FILE` cannot be read.
  public static func fromEnvironment(_ environment: [String: String]) throws -> KilnClientConfiguration {
    var configuration = KilnClientConfiguration()
    if let address = environment["KILN_ADDR"], !address.isEmpty {
      (configuration.host, configuration.port) = try parseAddress(address)
    }
    if let token = environment["KILN_TOKEN"], !token.isEmpty {
      configuration.token = token
    } else if let file = environment["KILN_TOKEN_FILE"], !file.isEmpty {
      configuration.token = try readToken(file: file)
    }
    if let caFile = environment["KILN_CA_FILE"], !caFile.isEmpty { configuration.tls = ClientTLS(caFile: caFile) }
    if let certificate = environment["KILN_TLS_CERT"], !certificate.isEmpty,
      let key = environment["KILN_TLS_KEY"], !key.isEmpty
    {
      var tls = configuration.tls ?? ClientTLS()
      tls.certificateFile = certificate
      tls.keyFile = key
      configuration.tls = tls
    }
    return configuration
  }

  /// The token in `file` (surrounding white space removed).
  /// - Throws: ``KilnError`` (invalid argument) when the file cannot be read or is empty.
  public static func readToken(file: String) throws(KilnError) -> String {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw KilnError.invalidArgument(field: "token file", "cannot read \(file)")
    }
    let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !token.isEmpty else { throw KilnError.invalidArgument(field: "token file", "\(file) is empty") }
    return token
  }

  /// The gRPC target: IP literals are connected to as such (TLS must not send them as a
  /// server name), anything else is resolved by DNS.
  var resolvableTarget: any ResolvableTarget {
    var ipv4 = in_addr()
    if inet_pton(AF_INET, host, &ipv4) == 1 {
      let target: ResolvableTargets.IPv4 = .ipv4(address: host, port: port)
      return target
    }
    var ipv6 = in6_addr()
    if inet_pton(AF_INET6, host, &ipv6) == 1 {
      let target: ResolvableTargets.IPv6 = .ipv6(address: host, port: port)
      return target
    }
    let target: ResolvableTargets.DNS = .dns(host: host, port: port)
    return target
  }

  /// Splits `host:port` (IPv6 hosts in brackets: `[::1]:7077`).
  public static func parseAddress(_ address: String) throws(KilnError) -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
      (1...65535).contains(port)
    else {
      throw KilnError.invalidArgument(field: "address", "\(address) is not host:port")
    }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw KilnError.invalidArgument(field: "address", "\(address) has no host") }
    return (host, port)
  }
}

/// The client's TLS settings, as PEM files.
public struct ClientTLS: Sendable, Hashable {
  /// The CA that signed the server's certificate; the system's roots when `nil`.
  public var caFile: String?
  /// The client's certificate, for servers that require one (mutual TLS).
  public var certificateFile: String?
  /// The private key of ``certificateFile``.
  public var keyFile: String?

  /// Creates TLS settings.
  public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
  }

  var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    let caFile = self.caFile
    let trust: (inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) -> Void = { config in
      if let caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
    }
    if let certificateFile, let keyFile {
      return .mTLS(
        certificateChain: [.file(path: certificateFile, format: .pem)], privateKey: .file(path: keyFile, format: .pem),
        configure: trust)
    }
    return .tls(configure: trust)
  }
}

/// How a client retries calls that failed because the server could not be reached.
///
/// Only UNAVAILABLE is retried: every Kiln call is safe to repeat (reads change nothing,
/// and mutations carry a request id the server deduplicates).
public struct RetryPolicy: Sendable {
  /// Attempts in all, the first included; 1 disables retries.
  public var maxAttempts: Int
  /// The longest wait before the first retry; the bound doubles for each further one.
  public var initialBackoff: Duration
  /// The longest wait between two attempts.
  public var maxBackoff: Duration

  /// Creates a policy.
  public init(maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2)) {
    self.maxAttempts = max(1, maxAttempts)
    self.initialBackoff = initialBackoff
    self.maxBackoff = maxBackoff
  }

  /// The longest wait before retry number `retry` (from 1): `initialBackoff` doubled
  /// for each retry after the first, at most `maxBackoff`.
  func backoffBound(forRetry retry: Int) -> Duration {
    var wait = initialBackoff
    for _ in 1..<max(retry, 1) {
      wait = wait * 2
      if wait >= maxBackoff { return maxBackoff }
    }
    return min(wait, maxBackoff)
  }

  /// The wait before retry number `retry` (from 1): a random duration up to
  /// ``backoffBound(forRetry:)``, as gRPC's retry design (A6) and grpc-swift's
  /// `RetryPolicy` do, so that the many clients a server restart disconnects at once do
  /// not all come back at once.
  func backoff<Generator: RandomNumberGenerator>(forRetry retry: Int, using generator: inout Generator) -> Duration {
    let bound = backoffBound(forRetry: retry)
    let (seconds, attoseconds) = bound.components
    let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    guard nanoseconds > 0 else { return .zero }
    return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
  }

  /// The wait before retry number `retry` (from 1), drawn from the system's generator.
  func backoff(forRetry retry: Int) -> Duration {
    var generator = SystemRandomNumberGenerator()
    return backoff(forRetry: retry, using: &generator)
  }
}

/// Connects to a Kiln server over HTTP/2 (TLS if configured), runs `body` with the client, and
/// closes the connection when `body` returns or throws.
///
/// - Returns: What `body` returns.
public func withKilnClient<Result: Sendable>(
  _ configuration: KilnClientConfiguration, _ body: (KilnClient) async throws -> Result
) async throws -> Result {
  try await withGRPCClient(
    transport: .http2NIOPosix(
      target: configuration.resolvableTarget, transportSecurity: configuration.tls?.transportSecurity ?? .plaintext),
    interceptors: configuration.token.map { [BearerTokenInterceptor(token: $0)] } ?? []
  ) { grpcClient in
    try await body(KilnClient(grpcClient: grpcClient, configuration: configuration))
  }
}

/// Connects to `host:port` with the default configuration; see ``withKilnClient(_:_:)``.
public func withKilnClient<Result: Sendable>(
  host: String, port: Int, _ body: (KilnClient) async throws -> Result
) async throws -> Result {
  try await withKilnClient(KilnClientConfiguration(host: host, port: port), body)
}
