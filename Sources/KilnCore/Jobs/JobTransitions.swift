/// The job state machine: which operation each status allows, and where it leads.
///
/// This is the one place the status × operation table lives (Kylin 5's
/// `JobStatusEnum` and its console's button rules). The engine consults it
/// inside the same store transaction that writes the change, so a refused
/// operation changes nothing.
public enum JobTransitions {
  /// The table: for each status, the operations it permits.
  private static let table: [JobStatus: Set<JobAction>] = [
    .pending: [.pause, .discard],
    .running: [.pause, .restart, .discard],
    .paused: [.resume, .restart, .discard],
    .error: [.resume, .restart, .discard],
    .finished: [.delete],
    .discarded: [.delete],
  ]

  /// The operations `status` permits, in the order of ``JobAction/allCases``.
  public static func allowedActions(for status: JobStatus) -> [JobAction] {
    let allowed = table[status] ?? []
    return JobAction.allCases.filter { allowed.contains($0) }
  }

  /// Whether `action` is allowed on a job in `status`.
  public static func isAllowed(_ action: JobAction, from status: JobStatus) -> Bool {
    table[status]?.contains(action) ?? false
  }

  /// The status a job reaches when `action` is applied to it in `status`.
  ///
  /// - Returns: The new status, or `nil` for ``JobAction/delete`` (the job is gone).
  /// - Throws: ``KilnError`` with code ``KilnError/Code/failedPrecondition`` naming
  ///   the status and the operations it allows, when the table forbids the move.
  public static func apply(_ action: JobAction, to status: JobStatus, jobID: String) throws(KilnError)
    -> JobStatus?
  {
    guard isAllowed(action, from: status) else {
      throw KilnError.operationNotAllowed(action, status: status, jobID: jobID)
    }
    switch action {
    case .pause: return .paused
    case .resume: return .pending
    case .restart: return .pending
    case .discard: return .discarded
    case .delete: return nil
    }
  }

  /// Transitions the engine makes by itself, never an operator.
  public enum EngineMove: Sendable {
    /// The scheduler starts a pending job.
    case start
    /// The last step succeeded.
    case finish
    /// A step failed after its retries.
    case fail
    /// The server restarted while the job ran: back to the queue.
    case recover
    /// The job's subject was deleted or changed.
    case systemDiscard
  }

  /// The status an engine move leads to from `status`, or `nil` if the move does not apply.
  public static func apply(_ move: EngineMove, to status: JobStatus) -> JobStatus? {
    switch (move, status) {
    case (.start, .pending): .running
    case (.finish, .running): .finished
    case (.fail, .running): .error
    case (.recover, .running): .pending
    case (.systemDiscard, let s) where !s.isFinal: .discarded
    default: nil
    }
  }
}
