public import GRPCCore
public import KilnCore

/// Resolves a request's caller from its metadata.
public protocol CallerResolver: Sendable {
  /// The caller of a request with this metadata.
  /// - Throws: `RPCError` (unauthenticated) when the metadata does not identify anyone.
  func caller(for metadata: Metadata, method: MethodDescriptor) async throws -> Caller
}

/// The resolver of a server without authentication: everyone is ``Caller/anonymous``.
public struct AnonymousCallerResolver: CallerResolver {
  /// Creates the resolver.
  public init() {}

  public func caller(for metadata: Metadata, method: MethodDescriptor) async throws -> Caller { .anonymous }
}

/// Puts the caller of each request in ``RequestContext/caller`` for its whole handling,
/// including the body of a streaming response.
public struct CallerInterceptor: ServerInterceptor {
  private let resolver: any CallerResolver

  /// Creates the interceptor.
  public init(resolver: any CallerResolver) {
    self.resolver = resolver
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let caller = try await resolver.caller(for: request.metadata, method: context.descriptor)
    var response = try await RequestContext.$caller.withValue(caller) {
      try await next(request, context)
    }
    // A streaming handler's body runs after `next` returns: carry the caller into it.
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in
        try await RequestContext.$caller.withValue(caller) { try await producer(writer) }
      }
      response.accepted = .success(contents)
    }
    return response
  }
}
