public import GRPCCore
public import GRPCNIOTransportHTTP2
public import KilnProto

/// A connection to a Kiln server.
///
/// This first version exposes the generated `kiln.v1` clients; the typed SDK
/// (value types, resumable watches, retries) builds on it.
public struct KilnClient: Sendable {
  /// The `kiln.v1.JobService` client.
  public let jobs: Kiln_V1_JobService.Client<HTTP2ClientTransport.Posix>

  init(grpcClient: GRPCClient<HTTP2ClientTransport.Posix>) {
    jobs = Kiln_V1_JobService.Client(wrapping: grpcClient)
  }
}

/// Connects to a Kiln server over plaintext HTTP/2, runs `body` with the client,
/// and closes the connection when `body` returns or throws.
///
/// - Parameters:
///   - host: The server's address, e.g. `127.0.0.1`.
///   - port: The server's port (kilnd's default is 7077).
///   - body: What to do with the client.
/// - Returns: What `body` returns.
public func withKilnClient<Result: Sendable>(
  host: String, port: Int, _ body: (KilnClient) async throws -> Result
) async throws -> Result {
  try await withGRPCClient(
    transport: .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: .plaintext)
  ) { grpcClient in
    try await body(KilnClient(grpcClient: grpcClient))
  }
}
