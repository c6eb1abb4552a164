import GRPCCore
import KilnCore
import KilnWire

extension KilnError {
  /// The Kiln error for whatever a call threw: a server's status with its message and
  /// `kiln-*` trailers, a local deadline or cancellation, or a transport failure
  /// (reported as unavailable).
  static func from(_ error: any Error) -> KilnError {
    switch error {
    case let error as KilnError:
      return error
    case let error as RPCError:
      var details: [String: String] = [:]
      for (key, value) in error.metadata where key.hasPrefix("kiln-") {
        if case .string(let text) = value { details[key] = text }
      }
      return KilnError(code: Code(error.code), message: error.message, details: details)
    case is CancellationError:
      return KilnError(code: .cancelled, message: "the call was cancelled")
    default:
      return KilnError(code: .unavailable, message: "cannot reach the server: \(error)")
    }
  }
}

extension KilnError {
  /// For INVALID_ARGUMENT: the request field at fault, e.g. `params.table`.
  public var field: String? { details[DetailKey.field] }

  /// For FAILED_PRECONDITION: the job's status when the operation was refused.
  public var jobStatus: JobStatus? { details[DetailKey.jobStatus].flatMap(JobStatus.init(rawValue:)) }

  /// For FAILED_PRECONDITION: what the job's status allows instead.
  public var allowedActions: [JobAction]? {
    details[DetailKey.allowedActions].map { $0.split(separator: ",").compactMap { JobAction(rawValue: String($0)) } }
  }

  /// For RESOURCE_EXHAUSTED and UNAVAILABLE on a watch: the revision to resume after.
  public var lastRevision: Int64? { details[DetailKey.lastRevision].flatMap { Int64($0) } }

  /// For OUT_OF_RANGE on a watch: the oldest event the server's log still keeps.
  public var oldestRevision: Int64? { details[DetailKey.oldestRevision].flatMap { Int64($0) } }
}
