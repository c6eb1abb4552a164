import Foundation
import KilnCore
import KilnStore
import Logging
import ServiceLifecycle
import Synchronization

extension JobEngine {
  /// Kills every step process a previous server on this data directory left running
  /// (see ``StepProcessSweeper``), and waits until they are gone, once per engine.
  /// ``run()`` does this first unless `kilnd` already did, before it bound its port.
  public func killLeftoverSteps() async {
    // Once per engine: kilnd calls this before binding, run() again for embedders.
    guard leftoversKilled.withLock({ done in defer { done = true }; return !done }) else { return }
    let owner = stepOwner
    let leftovers = await BlockingIO.run {
      StepProcessSweeper.killAll(withMark: StepProcessSweeper.ownerVariable, value: owner, timeout: .seconds(10))
    }
    if leftovers > 0 { logger.notice("killed \(leftovers) step process(es) left running by a previous server") }
  }

  /// Recovers jobs a crash left RUNNING, then starts pending jobs (FIFO, within the
  /// global and per-project limits) until graceful shutdown. At shutdown the running
  /// steps are stopped and their jobs go back to PENDING, to continue at their first
  /// unfinished step on the next start.
  public func run() async throws {
    // Before any job runs again: the steps of a previous server on this data directory
    // that died without stopping them (kill -9, OOM) must not run beside their requeued
    // selves, nor hold what the server needs (its port).
    await killLeftoverSteps()
    let recovered = try await requeueRunningJobs(reason: "recovered after a restart of the server")
    if recovered > 0 { logger.notice("requeued \(recovered) job(s) that were running when the server stopped") }
    wakeSignal.wake()
    await withDiscardingTaskGroup { group in
      for await _ in wakeSignal.wakeUps.cancelOnGracefulShutdown() {
        let claimed: [Job]
        do {
          let now = Date.kilnNow()
          // A job whose previous runner is still stopping (paused and resumed within the
          // grace period) waits for it, so two runs of one step never overlap.
          let stillStopping = Set(activeRuns.withLock { $0.keys })
          claimed = try await store.claimPendingJobs(
            maxRunning: configuration.maxRunningJobs,
            maxRunningPerProject: configuration.maxRunningJobsPerProject, excluding: stillStopping, now: now
          ) { job in
            job.move(to: .running, at: now)
            job.execution += 1
          }
        } catch {
          logger.error("cannot claim pending jobs: \(error)")
          try? await Task.sleep(for: .seconds(1))
          wakeSignal.wake()
          continue
        }
        for job in claimed {
          let control = RunControl(execution: job.execution)
          activeRuns.withLock { $0[job.id] = control }
          group.addTask {
            await self.execute(job, control: control)
            self.activeRuns.withLock { runs in
              if runs[job.id] === control { runs[job.id] = nil }
            }
            self.wakeSignal.wake()
          }
        }
      }
      logger.info("engine shutting down: stopping running steps")
      group.cancelAll()
    }
    let requeued = (try? await requeueRunningJobs(reason: "server shut down")) ?? 0
    logger.info("engine stopped", metadata: ["requeued": "\(requeued)"])
  }

  /// Puts every RUNNING job back to PENDING; running steps start again from scratch.
  ///
  /// - Returns: How many jobs were requeued.
  func requeueRunningJobs(reason: String) async throws -> Int {
    var count = 0
    for id in try await store.jobIDs(inStatus: .running) {
      let now = Date.kilnNow()
      let result = try? await store.mutate(jobID: id, idempotency: nil, now: now) {
        (job: inout Job) throws(KilnError) -> JobChange in
        guard JobTransitions.apply(.recover, to: job.status) != nil else { return .none }
        for i in job.steps.indices where job.steps[i].status == .running {
          job.steps[i].status = .pending
          job.steps[i].progress = 0
        }
        job.move(to: .pending, at: now)
        job.recomputeProgress()
        return .update(.updated)
      }
      if result?.job?.status == .pending {
        count += 1
        logger.info("job requeued", metadata: ["job": "\(id)", "reason": "\(reason)"])
      }
    }
    return count
  }
}
