public import Foundation

/// Sends one completion callback: an HTTP POST of a JSON body.
///
/// ``CallbackDeliverer`` decides when and how often; a sender makes one attempt.
public protocol CallbackSender: Sendable {
  /// Posts `body` to `url` with `headers`, within `timeout` (connection, request and
  /// answer together).
  ///
  /// - Returns: The answer's HTTP status code.
  /// - Throws: When no answer came: the connection failed, or `timeout` passed
  ///   (``CallbackTimeout``), or the calling task was cancelled (`CancellationError`).
  func post(url: String, body: Data, headers: [(name: String, value: String)], timeout: Duration) async throws -> Int

  /// Releases the sender's connections; called once, when delivery stops.
  func shutdown() async throws
}

/// A callback attempt that got no answer in time.
public struct CallbackTimeout: Error, CustomStringConvertible {
  /// The time the attempt was given.
  public var timeout: Duration

  /// Creates the error.
  public init(timeout: Duration) {
    self.timeout = timeout
  }

  public var description: String { "no answer within \(timeout)" }
}
