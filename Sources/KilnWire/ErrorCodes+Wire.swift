public import GRPCCore
public import KilnCore

// Kiln's error codes as gRPC status codes (`RPCError.Code`); the numbers themselves are
// KilnCore's (`KilnError.Code.grpcStatus`), which batch results and the audit trail carry.

extension RPCError.Code {
  /// The gRPC status for a Kiln error code (the numbers are ``KilnError/Code/grpcStatus``).
  public init(_ code: KilnError.Code) {
    self = Status.Code(rawValue: code.grpcStatus).flatMap(RPCError.Code.init) ?? .internalError
  }
}

extension KilnError.Code {
  /// The Kiln code for a gRPC status.
  public init(_ code: RPCError.Code) {
    self.init(grpcStatus: code.rawValue)
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
