import Foundation
import KilnCore
import KilnStore
import Logging
import ServiceLifecycle
import Synchronization

extension JobEngine {
  /// Recovers jobs a crash left RUNNING, then starts pending jobs (FIFO, within the
  /// global and per-project limits) until graceful shutdown. At shutdown the running
  /// steps are stopped and their jobs go back to PENDING, to continue at their first
  /// unfinished step on the next start.
  public func run() async throws {
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
