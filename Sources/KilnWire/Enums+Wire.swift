public import KilnCore
public import KilnProto

// The one mapping between the domain's enums and the wire's, used by the server and
// the SDK alike. The wire's `unspecified` and unknown values have no domain value.

extension JobStatus {
  /// The wire value of this status.
  public var wire: Kiln_V1_JobStatus {
    switch self {
    case .pending: .pending
    case .running: .running
    case .paused: .paused
    case .error: .error
    case .discarded: .discarded
    case .finished: .finished
    }
  }
}

extension Kiln_V1_JobStatus {
  /// The domain status, or `nil` for `unspecified` and values this build does not know.
  public var domain: JobStatus? {
    switch self {
    case .pending: .pending
    case .running: .running
    case .paused: .paused
    case .error: .error
    case .discarded: .discarded
    case .finished: .finished
    case .unspecified, .UNRECOGNIZED: nil
    }
  }
}

extension JobAction {
  /// The wire value of this action.
  public var wire: Kiln_V1_JobAction {
    switch self {
    case .pause: .pause
    case .resume: .resume
    case .restart: .restart
    case .discard: .discard
    case .delete: .delete
    }
  }
}

extension Kiln_V1_JobAction {
  /// The domain action, or `nil` for `unspecified` and values this build does not know.
  public var domain: JobAction? {
    switch self {
    case .pause: .pause
    case .resume: .resume
    case .restart: .restart
    case .discard: .discard
    case .delete: .delete
    case .unspecified, .UNRECOGNIZED: nil
    }
  }
}
