import Foundation
import KilnCore
import KilnMetrics
import KilnStore
import Logging
import Synchronization

extension JobEngine {
  /// Runs a claimed job's steps from its first unfinished one until it finishes, fails
  /// or is stopped. Every write checks that the job is still in the execution this
  /// runner owns; once it is not (paused, discarded, restarted, deleted), the runner
  /// stops writing and returns.
  func execute(_ claimed: Job, control: RunControl) async {
    guard let type = catalog.type(named: claimed.jobType) else {
      _ = await ownedWrite(claimed.id, control) { job, now in
        job.errorMessage = "job type \(job.jobType) is no longer configured on this server"
        job.move(to: .error, at: now)
      }
      return
    }
    var job = claimed
    while !control.isStopped, let index = job.firstUnfinishedStepIndex {
      guard index < type.steps.count else {
        _ = await ownedWrite(job.id, control) { job, now in
          job.errorMessage = "job type \(job.jobType) no longer has step \(index)"
          job.move(to: .error, at: now)
        }
        return
      }
      let definition = type.steps[index]
      guard
        let started = await ownedWrite(job.id, control, body: { job, now in
          job.steps[index].status = .running
          job.steps[index].startTime = now
          job.steps[index].endTime = nil
          job.steps[index].progress = 0
          job.recomputeProgress()
        })
      else { return }
      job = started

      let outcome = await runStep(definition, of: job, index: index, control: control)
      switch outcome {
      case .stopped:
        return
      case .succeeded:
        guard
          let next = await ownedWrite(job.id, control, body: { job, now in
            job.steps[index].status = .finished
            job.steps[index].progress = 100
            job.steps[index].endTime = now
            job.steps[index].errorMessage = nil
            if job.firstUnfinishedStepIndex == nil, let finished = JobTransitions.apply(.finish, to: job.status) {
              job.move(to: finished, at: now)
            }
            job.recomputeProgress()
          })
        else { return }
        job = next
        if job.status == .finished {
          logger.info("job finished", metadata: ["job": "\(job.id)"])
        }
      case .failed(let message):
        let retry = job.steps[index].retries < definition.maxRetries
        guard
          let next = await ownedWrite(job.id, control, body: { job, now in
            job.steps[index].errorMessage = message
            job.steps[index].endTime = now
            if retry {
              job.steps[index].retries += 1
              job.steps[index].status = .pending
            } else {
              job.steps[index].status = .error
              job.errorMessage = "step \(definition.name) failed: \(message)"
              if let failed = JobTransitions.apply(.fail, to: job.status) { job.move(to: failed, at: now) }
            }
            job.recomputeProgress()
          })
        else { return }
        job = next
        if !retry {
          logger.warning("job failed", metadata: ["job": "\(job.id)", "step": "\(definition.name)", "error": "\(message)"])
          return
        }
        let backoff = definition.retryBackoffMillis << min(job.steps[index].retries - 1, 16)
        await sleepUnlessStopped(milliseconds: backoff, control: control)
      }
    }
  }

  /// Writes a change if the runner still owns the job; returns the job, or `nil` if it does not.
  private func ownedWrite(
    _ jobID: String, _ control: RunControl, body: @escaping @Sendable (inout Job, Date) -> Void
  ) async -> Job? {
    // A storage failure a retry can overcome (disk full, read-only file system) must not
    // leave the job RUNNING with no runner: the write is retried, backing off, until it
    // succeeds or the run is stopped (then the stop, or the next start, settles the job).
    var backoff: Duration = .milliseconds(100)
    var warned = false
    while true {
      let owned = LockedValue(false)
      let now = Date.kilnNow()
      do {
        let result = try await store.mutate(jobID: jobID, idempotency: nil, now: now) {
          (job: inout Job) throws(KilnError) -> JobChange in
          guard job.status == .running, job.execution == control.execution else { return .none }
          body(&job, now)
          owned.withLock { $0 = true }
          return .update(.updated)
        }
        if warned { logger.notice("job \(jobID) written again after a storage failure") }
        return owned.withLock { $0 } ? result.job : nil
      } catch is CancellationError {
        // Shutting down: the job is requeued after the runners stop.
        return nil
      } catch where StorageFailure.kilnError(for: error) != nil && !control.isStopped && !Task.isCancelled {
        if !warned { logger.error("cannot write job \(jobID), retrying until storage recovers: \(error)") }
        warned = true
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      } catch {
        if (error as? KilnError)?.code != .notFound {
          logger.error("cannot write job \(jobID): \(error)")
        }
        return nil
      }
    }
  }

  /// Runs one execution of a step, racing it against a stop, its timeout, and
  /// flushing its progress at most once per progress interval.
  private func runStep(_ definition: StepDefinition, of job: Job, index: Int, control: RunControl) async
    -> StepOutcome
  {
    let latestProgress = LockedValue<Int?>(nil)
    let log = stepLogs.file(jobID: job.id, attempt: job.attempt, stepIndex: index)
    log.begin("=== \(definition.name) started at \(Date.kilnNow()) (attempt \(job.attempt), retry \(job.steps[index].retries)) ===")
    let context = StepContext(
      jobID: job.id, project: job.project, subject: job.subject, attempt: job.attempt, stepName: definition.name,
      stepIndex: index, params: job.params, priorFailures: job.steps[index].retries, log: log,
      stepOwner: stepOwner,
      reportProgress: { value in latestProgress.withLock { $0 = value } })
    let grace = configuration.stopGracePeriod
    let interval = configuration.progressInterval
    let started = ContinuousClock.now

    let outcome = await withTaskGroup(of: StepOutcome?.self) { group in
      group.addTask {
        switch definition.kind {
        case .sleep(let duration):
          return await SleepStep.run(durationMillis: duration, context: context)
        case .exec(let program, let arguments, let environment):
          return await ExecStep.run(
            program: program, arguments: arguments, environment: environment, context: context, grace: grace)
        }
      }
      group.addTask {
        await control.waitForStop()
        return control.isStopped ? .stopped : nil
      }
      if definition.timeoutMillis > 0 {
        group.addTask {
          do {
            try await Task.sleep(for: .milliseconds(definition.timeoutMillis))
          } catch {
            return nil
          }
          return .failed("timed out after \(definition.timeoutMillis) ms")
        }
      }
      group.addTask {
        while !Task.isCancelled {
          try? await Task.sleep(for: interval)
          let value = latestProgress.withLock { value in
            defer { value = nil }
            return value
          }
          if let value { await self.writeProgress(job.id, control, index: index, value: value) }
        }
        return nil
      }
      var outcome: StepOutcome = .stopped
      for await result in group {
        if let result {
          outcome = result
          break
        }
      }
      group.cancelAll()
      return outcome
    }
    let outcomeName: String
    switch outcome {
    case .succeeded:
      log.append("=== \(definition.name) succeeded ===")
      outcomeName = "succeeded"
    case .failed(let message):
      log.append("=== \(definition.name) failed: \(message) ===")
      outcomeName = "failed"
    case .stopped:
      log.append("=== \(definition.name) stopped ===")
      outcomeName = "stopped"
    }
    configuration.metrics.stepEnded(
      jobType: job.jobType, step: definition.name, outcome: outcomeName, duration: ContinuousClock.now - started)
    return outcome
  }

  /// Writes a coalesced progress value as a progress event.
  private func writeProgress(_ jobID: String, _ control: RunControl, index: Int, value: Int) async {
    _ = try? await store.mutate(jobID: jobID, idempotency: nil, now: .kilnNow()) {
      (job: inout Job) throws(KilnError) -> JobChange in
      guard job.status == .running, job.execution == control.execution, job.steps[index].status == .running,
        job.steps[index].progress != value
      else { return .none }
      job.steps[index].progress = value
      job.recomputeProgress()
      return .update(.progress)
    }
  }

  private func sleepUnlessStopped(milliseconds: Int64, control: RunControl) async {
    var remaining = milliseconds
    while remaining > 0 && !control.isStopped && !Task.isCancelled {
      let slice = min(remaining, 50)
      try? await Task.sleep(for: .milliseconds(slice))
      remaining -= slice
    }
  }
}
