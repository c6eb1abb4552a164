import GRPCCore
import KilnCore
import KilnWire
import Logging

/// Runs a handler body and turns what it throws into the right gRPC status.
///
/// ``KilnError`` keeps its code and message; an `RPCError` passes through; anything
/// else is a bug or an infrastructure failure: it is logged in full and reported as
/// INTERNAL without details.
func mappingErrors<T>(_ logger: Logger, _ method: String, _ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as KilnError {
    var trailers = Metadata()
    for (key, value) in error.details.sorted(by: { $0.key < $1.key }) { trailers.addString(value, forKey: key) }
    throw RPCError(code: RPCError.Code(error.code), message: error.message, metadata: trailers)
  } catch let error as RPCError {
    throw error
  } catch is CancellationError {
    // The client went away (it will not read this) or the server is shutting down:
    // either way, trying again later is the right reaction.
    throw RPCError(code: .unavailable, message: "the call was cancelled: the client went away or the server is shutting down")
  } catch {
    logger.error("internal error in \(method): \(String(reflecting: error))")
    throw RPCError(code: .internalError, message: "internal error in \(method); see the server log")
  }
}
