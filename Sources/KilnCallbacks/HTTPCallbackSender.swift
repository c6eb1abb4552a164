import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Posts callbacks with AsyncHTTPClient.
///
/// Why AsyncHTTPClient and not a hand-written NIO HTTP/1 client: it is the server
/// ecosystem's maintained client (connection pooling, keep-alive, TLS for `https://`
/// receivers, correct HTTP/1 framing, task cancellation), and it builds on the SwiftNIO
/// already in the graph; it adds about a minute to a clean build.
public final class HTTPCallbackSender: CallbackSender {
  /// Made at the first post: AsyncHTTPClient traps if a client is dropped without
  /// `shutdown()`, and an application that is built but never run never posts.
  private let client = Mutex<HTTPClient?>(nil)

  /// Creates a sender with its own connection pool (opened at the first post).
  /// Redirects are not followed: a receiver answers, it does not send the callback elsewhere.
  public init() {}

  private func connectionPool() -> HTTPClient {
    client.withLock { client in
      if let client { return client }
      var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
      configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10))
      let made = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
      client = made
      return made
    }
  }

  public func post(url: String, body: Data, headers: [(name: String, value: String)], timeout: Duration) async throws
    -> Int
  {
    let client = connectionPool()
    let headers = headers.map { [$0.name, $0.value] }
    // AsyncHTTPClient's deadline ends when the answer's head arrives; the race bounds
    // the body too, so a receiver that stalls mid-answer costs at most `timeout`.
    return try await withThrowingTaskGroup(of: Int?.self) { group in
      group.addTask {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header[0], value: header[1]) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
        // Read (a bounded amount of) the answer so the connection can be reused.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
      }
      group.addTask {
        try await Task.sleep(for: timeout)
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let status = first else { throw CallbackTimeout(timeout: timeout) }
      return status
    }
  }

  public func shutdown() async throws {
    let pool = client.withLock { client in
      defer { client = nil }
      return client
    }
    try await pool?.shutdown()
  }

  private static func nanoseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
  }
}
