public import GRPCCore

/// Ends a call whose deadline has passed with DEADLINE_EXCEEDED, whatever its handler
/// ended with.
///
/// grpc-swift-2 2.4.3 (`Sources/GRPCCore/Call/Server/Internal/ServerRPCExecutor.swift`,
/// `_processRPCWithTimeout`, near line 130) only cancels the call's context when its
/// `grpc-timeout` elapses; the status is whatever the handler then returns. A watch
/// ended by its deadline reported OK (or UNAVAILABLE, "the watch was cancelled"), so a
/// client could not tell it from a watch the server ended. Here the status is
/// DEADLINE_EXCEEDED, and the handler's trailers (a watch's `kiln-last-revision`, where
/// to resume) are kept.
public struct DeadlineInterceptor: ServerInterceptor {
  /// Creates the interceptor.
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    guard let header = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true }),
      let timeout = Self.duration(header)
    else {
      return try await next(request, context)
    }
    let deadline = ContinuousClock.now.advanced(by: timeout)
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      throw Self.exceeded(deadline, header: header, error: error) ?? error
    }
    if let exceeded = Self.exceeded(deadline, header: header, error: nil) { throw exceeded }
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          if let exceeded = Self.exceeded(deadline, header: header, error: nil) { throw exceeded }
          return trailers
        } catch {
          throw Self.exceeded(deadline, header: header, error: error) ?? error
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }

  /// DEADLINE_EXCEEDED with `error`'s trailers, once `deadline` has passed.
  static func exceeded(_ deadline: ContinuousClock.Instant, header: String, error: (any Error)?) -> RPCError? {
    guard ContinuousClock.now >= deadline else { return nil }
    if let error = error as? RPCError, error.code == .deadlineExceeded { return error }
    var metadata = Metadata()
    if let error = error as? RPCError {
      metadata = error.metadata
    } else if let error = error as? any RPCErrorConvertible {
      metadata = error.rpcErrorMetadata
    }
    return RPCError(
      code: .deadlineExceeded, message: "the call's deadline passed (grpc-timeout \(header))", metadata: metadata)
  }

  /// A `grpc-timeout` value (already checked by ``RequestStreamGuard``) as a duration.
  static func duration(_ value: String) -> Duration? {
    guard let unit = value.last, let amount = Int64(value.dropLast()), amount >= 0 else { return nil }
    switch unit {
    case "H": return .seconds(amount * 3600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
  }
}
