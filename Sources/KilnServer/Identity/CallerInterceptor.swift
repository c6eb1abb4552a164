public import GRPCCore
import KilnWeb
import KilnCore
public import KilnAccess
import KilnEngine
import KilnWire

/// Authenticates every call and puts its caller in ``RequestContext/caller`` for its
/// whole handling, including the body of a streaming response.
///
/// A refused mutating call is written to the audit trail here (the handler never
/// runs). A streaming call is registered in ``OpenStreams`` so that revoking its
/// token ends it. The calls of ``openServices`` pass without a caller.
public struct CallerInterceptor: ServerInterceptor {
  private let resolver: any CallerResolver
  private let streams: OpenStreams
  private let audit: AuditTrail?
  /// The services anyone may call without a token.
  public let openServices: Set<String>

  /// Services anyone may call without a token on every server: health checks, for
  /// load balancers and orchestrators.
  public static let alwaysOpenServices: Set<String> = ["grpc.health.v1.Health"]

  /// Creates the interceptor.
  ///
  /// - Parameter openServices: The fully-qualified names of the services whose calls
  ///   need no token (nor are checked for one); ``alwaysOpenServices`` by default.
  public init(
    resolver: any CallerResolver, streams: OpenStreams = OpenStreams(), audit: AuditTrail? = nil,
    openServices: Set<String> = CallerInterceptor.alwaysOpenServices
  ) {
    self.resolver = resolver
    self.streams = streams
    self.audit = audit
    self.openServices = openServices
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    var context = context
    // A call of the HTTP face comes in process; its peer is the HTTP client's address,
    // which the bridge passes along (believed from in-process calls only).
    if context.remotePeer.hasPrefix("in-process"),
      let webPeer = request.metadata[stringValues: WebEndpoint.peerMetadataKey].first(where: { _ in true })
    {
      context.remotePeer = "web:\(webPeer)"
    }
    if openServices.contains(context.descriptor.service.fullyQualifiedService) {
      return try await next(request, context)
    }
    let caller: Caller
    do {
      caller = try await resolver.caller(for: request.metadata, method: context.descriptor)
    } catch let error as RPCError {
      await audit?.recordRefusal(context: context, error: error)
      throw error
    }
    var response = try await RequestContext.$current.withValue(caller) {
      try await next(request, context)
    }
    // A unary reply is made inside `next`; its producer only writes it. Registering it
    // would cost a task group and a waiting task per call, for nothing.
    if context.descriptor.type?.isResponseStreaming == false { return response }
    // A streaming handler's body runs after `next` returns: carry the caller into it,
    // and end it when its token is revoked.
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      let streams = self.streams
      contents.producer = { writer in
        let entry = streams.register(caller)
        defer { streams.unregister(entry) }
        return try await RequestContext.$current.withValue(caller) {
          try await Self.run(producer, writer: writer, endedBy: entry)
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }

  /// Runs a stream's producer until it ends, or until the stream is ended from outside
  /// (then the producer is cancelled and the call ends with the entry's reason).
  private static func run<Output: Sendable>(
    _ producer: @escaping @Sendable (RPCWriter<Output>) async throws -> Metadata, writer: RPCWriter<Output>,
    endedBy entry: OpenStreams.Entry
  ) async throws -> Metadata {
    try await withThrowingTaskGroup(of: Metadata?.self) { group in
      group.addTask { try await producer(writer) }
      group.addTask {
        await entry.ended.wait()
        return nil
      }
      defer { group.cancelAll() }
      while let result = try await group.next() {
        if let trailers = result { return trailers }
        if let reason = entry.endReason {
          throw RPCError(code: RPCError.Code(reason.code), message: reason.message)
        }
      }
      return [:]
    }
  }
}
