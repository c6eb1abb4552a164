public import Foundation

extension Job {
  /// Moves the job to `status` at `now`, keeping the time accounting right.
  ///
  /// Leaving PENDING adds the pending spell to ``waitMillis``; leaving RUNNING adds the
  /// running spell to ``durationMillis``. Entering RUNNING sets ``startTime`` once per
  /// attempt; entering a stopped status (ERROR, DISCARDED, FINISHED) sets ``endTime``.
  /// This does not check the transition table: callers do, through ``JobTransitions``.
  public mutating func move(to newStatus: JobStatus, at now: Date) {
    if let queuedTime {
      waitMillis += Job.millis(from: queuedTime, to: now)
      self.queuedTime = nil
    }
    if let runningSince {
      durationMillis += Job.millis(from: runningSince, to: now)
      self.runningSince = nil
    }
    switch newStatus {
    case .pending:
      queuedTime = now
      endTime = nil
    case .running:
      runningSince = now
      if startTime == nil { startTime = now }
      endTime = nil
    case .paused:
      break
    case .error, .discarded, .finished:
      endTime = now
    }
    status = newStatus
  }

  /// Applies an operator's action: checks the table, then changes the job and its steps
  /// as the action prescribes.
  ///
  /// - Pause: the running step goes to PAUSED; finished steps keep their results.
  /// - Resume: unfinished steps go back to PENDING; the stored error is cleared.
  /// - Restart: every step back to its initial state, timings reset, ``attempt`` + 1.
  /// - Discard: every unfinished step goes to DISCARDED.
  /// - Delete: nothing changes here; the store removes the record.
  ///
  /// - Throws: ``KilnError`` (failed precondition) when the status does not allow `action`.
  public mutating func apply(_ action: JobAction, at now: Date) throws(KilnError) {
    if status == .discarded, let statusReason, action == .restart || action == .resume {
      // The job ran against a subject version that is gone: running it again would
      // work on something else than was asked for.
      var error = KilnError.operationNotAllowed(action, status: status, jobID: id)
      error.message =
        "cannot \(action.verb) job \(id): it was discarded because its subject changed or was deleted "
        + "(\(statusReason)); submit a new job"
      throw error
    }
    let newStatus = try JobTransitions.apply(action, to: status, jobID: id)
    guard let newStatus else { return }
    switch action {
    case .pause:
      for i in steps.indices where steps[i].status == .running {
        steps[i].status = .paused
        steps[i].endTime = now
      }
      move(to: newStatus, at: now)
    case .resume:
      for i in steps.indices where steps[i].status != .finished {
        steps[i].status = .pending
        steps[i].progress = 0
        steps[i].retries = 0
        steps[i].errorMessage = nil
      }
      errorMessage = nil
      move(to: newStatus, at: now)
    case .restart:
      for i in steps.indices { steps[i].reset() }
      move(to: newStatus, at: now)
      attempt += 1
      errorMessage = nil
      waitMillis = 0
      durationMillis = 0
      startTime = nil
      endTime = nil
      queuedTime = now
    case .discard:
      discardSteps(at: now)
      move(to: newStatus, at: now)
    case .delete:
      break
    }
    recomputeProgress()
  }

  /// Discards the job because its subject changed or was deleted
  /// (``JobTransitions/EngineMove/systemDiscard``), recording `reason` in
  /// ``statusReason``. A job that has ended already is left as it is.
  ///
  /// - Returns: Whether the job was discarded.
  @discardableResult
  public mutating func discardAutomatically(reason: String, at now: Date) -> Bool {
    guard let newStatus = JobTransitions.apply(.systemDiscard, to: status) else { return false }
    discardSteps(at: now)
    move(to: newStatus, at: now)
    statusReason = reason
    recomputeProgress()
    return true
  }

  private mutating func discardSteps(at now: Date) {
    for i in steps.indices where !steps[i].status.isFinal {
      if steps[i].status == .running { steps[i].endTime = now }
      steps[i].status = .discarded
    }
  }
}

extension Date {
  /// The current time rounded to whole milliseconds, the precision Kiln stores.
  public static func kilnNow() -> Date {
    Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
  }
}
