public import GRPCCore
public import KilnMetrics
import Synchronization

/// Counts every call by method and status code and times it
/// (`grpc_server_started_total`, `grpc_server_handled_total`,
/// `grpc_server_handling_seconds`).
///
/// It runs first, outside every other interceptor, so that calls refused for their
/// deadline or their token are counted with the code the client saw. A streaming
/// call's status is known when its body ends, so that is when it is counted.
public final class RPCMetricsInterceptor: ServerInterceptor, Sendable {
  private let metrics: KilnMetrics
  /// One entry per method, so a call costs one dictionary lookup and no string building.
  private let byMethod = Mutex<[MethodDescriptor: RPCMetrics]>([:])

  /// Creates the interceptor, recording into `metrics`.
  public init(metrics: KilnMetrics) {
    self.metrics = metrics
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let rpc = metrics(for: context.descriptor)
    rpc.started()
    let start = ContinuousClock.now
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      rpc.handled(code: Self.codeName(of: error), duration: ContinuousClock.now - start)
      throw error
    }
    switch response.accepted {
    case .failure(let error):
      rpc.handled(code: Self.name(error.code), duration: ContinuousClock.now - start)
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          rpc.handled(code: "OK", duration: ContinuousClock.now - start)
          return trailers
        } catch {
          rpc.handled(code: Self.codeName(of: error), duration: ContinuousClock.now - start)
          throw error
        }
      }
      response.accepted = .success(contents)
    }
    return response
  }

  private func metrics(for descriptor: MethodDescriptor) -> RPCMetrics {
    if let found = byMethod.withLock({ $0[descriptor] }) { return found }
    let made = metrics.rpc(
      service: descriptor.service.fullyQualifiedService, method: descriptor.method, type: Self.typeName(descriptor))
    byMethod.withLock { $0[descriptor] = made }
    return made
  }

  /// go-grpc-prometheus' names for the four kinds of call.
  static func typeName(_ descriptor: MethodDescriptor) -> String {
    switch descriptor.type {
    case .bidirectionalStreaming: "bidi_stream"
    case .clientStreaming: "client_stream"
    case .serverStreaming: "server_stream"
    case .unary: "unary"
    case nil: "unknown"
    }
  }

  /// The status name a client sees for `error` (errors reach here already mapped).
  static func codeName(of error: any Error) -> String {
    if let error = error as? RPCError { return name(error.code) }
    if let error = error as? any RPCErrorConvertible { return name(error.rpcErrorCode) }
    if error is CancellationError { return "CANCELLED" }
    return "UNKNOWN"
  }

  /// The canonical name of a status code, as in grpc's `code.proto`.
  static func name(_ code: RPCError.Code) -> String {
    let names = [
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
      "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]
    return names.indices.contains(code.rawValue) ? names[code.rawValue] : "UNKNOWN"
  }
}
