import Foundation
public import GRPCCore
public import Hummingbird

/// A gRPC status as the HTTP face reports it: an HTTP status and a JSON body
/// `{"code": 9, "status": "FAILED_PRECONDITION", "message": "...", "details": {"kiln-...": "..."}}`
/// with the gRPC code, its name, the message and every `kiln-*` trailer.
public struct WebError: Error, Sendable {
  /// The gRPC status code.
  public let code: RPCError.Code
  /// What went wrong, as the gRPC message says it.
  public let message: String
  /// The `kiln-*` details (trailers over gRPC).
  public let details: [String: String]
  /// The HTTP status when it is not the one the gRPC code maps to (415, 413: refusals
  /// of the HTTP face itself).
  private let statusOverride: HTTPResponse.Status?

  /// Creates an error; `httpStatus` replaces the status the code maps to.
  public init(
    code: RPCError.Code, message: String, details: [String: String] = [:], httpStatus: HTTPResponse.Status? = nil
  ) {
    self.code = code
    self.message = message
    self.details = details
    self.statusOverride = httpStatus
  }

  /// The error a call ended with: an `RPCError` keeps its code, message and `kiln-*`
  /// trailers; anything else is INTERNAL.
  public init(_ error: any Error) {
    if let error = error as? WebError {
      self = error
    } else if let error = error as? RPCError {
      var details: [String: String] = [:]
      for (key, value) in error.metadata where key.hasPrefix("kiln-") {
        if case .string(let text) = value { details[key] = text }
      }
      self.init(code: error.code, message: error.message, details: details)
    } else if error is CancellationError {
      self.init(code: .unavailable, message: "the call was cancelled: the server is shutting down")
    } else {
      self.init(code: .internalError, message: "internal error in the HTTP face; see the server log")
    }
  }

  /// The HTTP status for the gRPC code: grpc-gateway's mapping, which HTTP tools and
  /// proxies already know.
  public var httpStatus: HTTPResponse.Status {
    if let statusOverride { return statusOverride }
    return switch code {
    case .cancelled: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
    case .invalidArgument, .failedPrecondition, .outOfRange: .badRequest
    case .deadlineExceeded: .gatewayTimeout
    case .notFound: .notFound
    case .alreadyExists, .aborted: .conflict
    case .permissionDenied: .forbidden
    case .unauthenticated: .unauthorized
    case .resourceExhausted: .tooManyRequests
    case .unimplemented: .notImplemented
    case .unavailable: .serviceUnavailable
    default: .internalServerError
    }
  }

  /// The gRPC code's name, as the gRPC spec spells it (`FAILED_PRECONDITION`).
  public var statusName: String {
    switch code {
    case .cancelled: "CANCELLED"
    case .unknown: "UNKNOWN"
    case .invalidArgument: "INVALID_ARGUMENT"
    case .deadlineExceeded: "DEADLINE_EXCEEDED"
    case .notFound: "NOT_FOUND"
    case .alreadyExists: "ALREADY_EXISTS"
    case .permissionDenied: "PERMISSION_DENIED"
    case .resourceExhausted: "RESOURCE_EXHAUSTED"
    case .failedPrecondition: "FAILED_PRECONDITION"
    case .aborted: "ABORTED"
    case .outOfRange: "OUT_OF_RANGE"
    case .unimplemented: "UNIMPLEMENTED"
    case .internalError: "INTERNAL"
    case .unavailable: "UNAVAILABLE"
    case .dataLoss: "DATA_LOSS"
    case .unauthenticated: "UNAUTHENTICATED"
    default: "UNKNOWN"
    }
  }

  /// The JSON body.
  public var json: [UInt8] {
    let body: [String: Any] = [
      "code": code.rawValue, "status": statusName, "message": message, "details": details,
    ]
    // Sorted keys: the same error always reads the same (and diffs cleanly in tests).
    return Array((try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
  }
}
