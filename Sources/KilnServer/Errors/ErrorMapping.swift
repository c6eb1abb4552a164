public import GRPCCore
public import KilnCore
import KilnStore
import KilnWire
import Logging

/// Runs a handler body and turns what it throws into the right gRPC status.
///
/// ``KilnError`` keeps its code and message; an `RPCError` passes through; a storage
/// failure a retry can overcome (disk full, read-only file system) is UNAVAILABLE naming
/// the cause; anything else is a bug: it is logged in full and reported as INTERNAL
/// without details.
func mappingErrors<T>(_ logger: Logger, _ method: String, _ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as KilnError {
    throw RPCError(code: error.rpcErrorCode, message: error.message, metadata: error.rpcErrorMetadata)
  } catch let error as RPCError {
    throw error
  } catch is CancellationError {
    // The client went away (it will not read this) or the server is shutting down:
    // either way, trying again later is the right reaction.
    throw RPCError(code: .unavailable, message: "the call was cancelled: the client went away or the server is shutting down")
  } catch {
    if let unavailable = StorageFailure.kilnError(for: error) {
      logger.error("\(method) refused: \(String(reflecting: error))")
      throw RPCError(code: RPCError.Code(unavailable.code), message: unavailable.message)
    }
    logger.error("internal error in \(method): \(String(reflecting: error))")
    throw RPCError(code: .internalError, message: "internal error in \(method); see the server log")
  }
}

/// A ``KilnError`` that escapes a handler without passing ``mappingErrors(_:_:_:)``
/// (an identity check before it, say) still reaches the client with its own code,
/// message and details, never as UNKNOWN.
extension KilnError: RPCErrorConvertible {
  public var rpcErrorCode: RPCError.Code { RPCError.Code(code) }
  public var rpcErrorMessage: String { message }
  public var rpcErrorMetadata: Metadata {
    var trailers = Metadata()
    for (key, value) in details.sorted(by: { $0.key < $1.key }) { trailers.addString(value, forKey: key) }
    return trailers
  }
}
