public import GRPCCore
public import KilnCore

// The one mapping between Kiln's error codes and gRPC status codes, both as
// `RPCError.Code` and as the numbers batch results carry.

extension RPCError.Code {
  /// The gRPC status for a Kiln error code.
  public init(_ code: KilnError.Code) {
    self = Self.pairs.first { $0.kiln == code }?.grpc ?? .internalError
  }

  /// Kiln's codes with their gRPC statuses and numbers; every other status is an internal error.
  fileprivate static let pairs: [(kiln: KilnError.Code, grpc: RPCError.Code, number: Int)] = [
    (.cancelled, .cancelled, 1),
    (.invalidArgument, .invalidArgument, 3),
    (.deadlineExceeded, .deadlineExceeded, 4),
    (.notFound, .notFound, 5),
    (.alreadyExists, .alreadyExists, 6),
    (.permissionDenied, .permissionDenied, 7),
    (.resourceExhausted, .resourceExhausted, 8),
    (.failedPrecondition, .failedPrecondition, 9),
    (.aborted, .aborted, 10),
    (.outOfRange, .outOfRange, 11),
    (.internalError, .internalError, 13),
    (.unavailable, .unavailable, 14),
    (.unauthenticated, .unauthenticated, 16),
  ]
}

extension KilnError.Code {
  /// The Kiln code for a gRPC status.
  public init(_ code: RPCError.Code) {
    self = RPCError.Code.pairs.first { $0.grpc == code }?.kiln ?? .internalError
  }

  /// The Kiln code for a numeric gRPC status.
  public init(grpcStatus: Int) {
    self = RPCError.Code.pairs.first { $0.number == grpcStatus }?.kiln ?? .internalError
  }

  /// The numeric gRPC status of this code.
  public var grpcStatus: Int {
    RPCError.Code.pairs.first { $0.kiln == self }?.number ?? 13
  }
}

/// A ``KilnError`` a handler throws reaches the client with its own code, message and
/// details (as `kiln-*` trailers), never as UNKNOWN.
extension KilnError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code { RPCError.Code(code) }
  public var rpcErrorMessage: String { message }
  public var rpcErrorMetadata: Metadata {
    var trailers = Metadata()
    for (key, value) in details.sorted(by: { $0.key < $1.key }) { trailers.addString(value, forKey: key) }
    return trailers
  }
}
