public import GRPCCore
import KilnCore
import KilnStore
import KilnWire
public import Logging

/// The gRPC status for whatever a handler threw.
///
/// ``KilnError`` keeps its code, message and details; an `RPCError` passes through; a
/// cancellation is UNAVAILABLE (the client went away or the server is stopping: trying
/// again later is right); a storage failure a retry can overcome (disk full, read-only
/// file system) is UNAVAILABLE naming the cause; anything else is a bug: it is logged in
/// full and reported as INTERNAL without details.
func rpcError(for error: any Error, method: String, logger: Logger) -> RPCError {
  switch error {
  case let error as KilnError:
    return RPCError(error)
  case let error as RPCError:
    return error
  case is CancellationError:
    return RPCError(code: .unavailable, message: "the call was cancelled: the client went away or the server is shutting down")
  default:
    if let unavailable = StorageFailure.kilnError(for: error) {
      logger.error("\(method) refused: \(String(reflecting: error))")
      return RPCError(code: RPCError.Code(unavailable.code), message: unavailable.message)
    }
    logger.error("internal error in \(method): \(String(reflecting: error))")
    return RPCError(code: .internalError, message: "internal error in \(method); see the server log")
  }
}

/// Maps every call's errors to gRPC statuses (``rpcError(for:method:logger:)``) and
/// writes every mutating call, with its result, to the audit trail
/// (``AuditedMethods``), once for all handlers: a handler only does its work and throws.
///
/// It runs inside ``CallerInterceptor``, which has identified the caller.
public struct CallOutcomeInterceptor: ServerInterceptor {
  private let audit: AuditTrail
  private let logger: Logger

  /// Creates the interceptor.
  public init(audit: AuditTrail, logger: Logger) {
    self.audit = audit
    self.logger = logger
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let (logger, method) = (self.logger, context.descriptor.method)
    guard let audited = AuditedMethods.all[context.descriptor] else {
      var response: StreamingServerResponse<Output>
      do {
        response = try await next(request, context)
      } catch {
        throw rpcError(for: error, method: method, logger: logger)
      }
      // A streaming handler's body runs after `next` returns, in the producer.
      if case .success(var contents) = response.accepted {
        let producer = contents.producer
        contents.producer = { writer in
          do {
            return try await producer(writer)
          } catch {
            throw rpcError(for: error, method: method, logger: logger)
          }
        }
        response.accepted = .success(contents)
      }
      return response
    }
    // Every audited method is unary: its handler has run when `next` returns. The note
    // takes the target and project from the request message as it is read.
    let note = AuditNote(kind: audited.kind, target: "", project: "")
    var described = request
    described.messages = RPCAsyncSequence(
      wrapping: request.messages.map { message in
        let (target, project) = audited.describe(message)
        if note.target.isEmpty { note.target = target }
        if note.project.isEmpty { note.project = project }
        return message
      })
    let caller = try RequestContext.caller
    do {
      let response = try await AuditNote.$current.withValue(note) { try await next(described, context) }
      switch response.accepted {
      case .success:
        await audit.record(context: context, caller: caller, note: note, code: 0, message: "")
      case .failure(let error):
        await audit.record(context: context, caller: caller, note: note, code: error.code.rawValue, message: error.message)
      }
      return response
    } catch {
      let mapped = rpcError(for: error, method: method, logger: logger)
      await audit.record(context: context, caller: caller, note: note, code: mapped.code.rawValue, message: mapped.message)
      throw mapped
    }
  }
}
