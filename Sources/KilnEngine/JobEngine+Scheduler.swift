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
    // This replica's own jobs at once (its previous life is gone), others' once their
    // leases have run out.
    let recovered = try await requeueRunningJobs(heldBy: configuration.replicaID, reason: "recovered after a restart of the server")
    if recovered > 0 { logger.notice("requeued \(recovered) job(s) that were running when the server stopped") }
    wakeSignal.wake()
    await withDiscardingTaskGroup { group in
      group.addTask { await self.keepLeases() }
      if configuration.followsOtherReplicas {
        group.addTask { await self.followOtherReplicas() }
      }
      for await _ in wakeSignal.wakeUps.cancelOnGracefulShutdown() {
        let claimed: [Job]
        do {
          let now = Date.kilnNow()
          // A job whose previous runner is still stopping (paused and resumed within the
          // grace period) waits for it, so two runs of one step never overlap.
          let stillStopping = Set(activeRuns.withLock { $0.keys })
          claimed = try await store.claimPendingJobs(
            maxRunning: configuration.maxRunningJobs,
            maxRunningPerProject: configuration.maxRunningJobsPerProject, excluding: stillStopping, now: now,
            lease: JobLease(owner: configuration.replicaID, expiry: now.addingTimeInterval(configuration.leaseDuration.timeInterval))
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
          let control = RunControl(execution: job.execution, claimRevision: job.revision)
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
    // Only this replica's: the others' keep running where they are.
    let requeued = (try? await requeueRunningJobs(heldBy: configuration.replicaID, takingRunOutLeases: false, reason: "server shut down")) ?? 0
    logger.info("engine stopped", metadata: ["requeued": "\(requeued)"])
  }

  /// Puts RUNNING jobs back to PENDING, to continue at their first unfinished step: those
  /// `owner` holds, and those whose lease has run out (see ``JobLeases``).
  ///
  /// - Parameter takingRunOutLeases: false to leave the jobs of other replicas alone
  ///   even when their leases have run out (at shutdown: the survivors take them).
  /// - Parameter sparing: Jobs left alone whatever their lease (those this engine runs).
  /// - Returns: How many jobs were requeued.
  func requeueRunningJobs(
    heldBy owner: String?, takingRunOutLeases: Bool = true, sparing: Set<String> = [], reason: String
  ) async throws -> Int {
    let now = Date.kilnNow()
    let requeued = try await store.requeueRunningJobs(
      heldBy: owner, leaseExpiredBefore: takingRunOutLeases ? now : nil, now: now
    ) {
      job in
      guard !sparing.contains(job.id), JobTransitions.apply(.recover, to: job.status) != nil else { return false }
      for i in job.steps.indices where job.steps[i].status == .running {
        job.steps[i].status = .pending
        job.steps[i].progress = 0
      }
      job.move(to: .pending, at: now)
      job.recomputeProgress()
      return true
    }
    for job in requeued {
      logger.info("job requeued", metadata: ["job": "\(job.id)", "reason": "\(reason)"])
    }
    return requeued.count
  }

  /// Renews this replica's leases every third of their duration, stops the runners of
  /// jobs it no longer holds, and requeues other replicas' jobs whose leases ran out.
  ///
  /// A replica that cannot renew (it lost the database) stops its own steps once two
  /// thirds of the lease have passed since its last renewal, before any other replica
  /// may take them: two runs of one step never overlap across replicas. An engine alone
  /// on its database keeps them, and never sweeps up the jobs it runs itself.
  func keepLeases() async {
    let interval = configuration.leaseDuration / 3
    var lastRenewal = ContinuousClock.now
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
      if Task.isCancelled || Task.isShuttingDownGracefully { return }
      let now = Date.kilnNow()
      do {
        // Only the jobs this replica still runs: one it holds without a runner (its
        // runner stopped without settling it) runs out and is requeued like a dead
        // replica's, instead of staying RUNNING for ever.
        let running = activeRuns.withLock { $0.filter { !$0.value.isStopped } }
        let held = try await store.renewLeases(
          owner: configuration.replicaID, jobIDs: Set(running.keys),
          until: now.addingTimeInterval(configuration.leaseDuration.timeInterval))
        lastRenewal = .now
        for (id, control) in running where !held.contains(id) && !control.isStopped {
          // Its lease is gone: another replica took the job, or it left RUNNING.
          logger.notice("job no longer held by this replica; stopping its step", metadata: ["job": "\(id)"])
          control.stop()
        }
        // Never a job this engine runs itself: its lease ran out only because renewals
        // failed (its storage was away), and the renewal just made covers it again.
        _ = try await requeueRunningJobs(
          heldBy: nil, sparing: Set(activeRuns.withLock { $0.keys }), reason: "its replica's lease ran out")
        // Also the fallback for starts another replica's change made possible (a job of
        // theirs finished, freeing a slot), should an announcement have been missed.
        wakeSignal.wake()
      } catch {
        logger.error("cannot renew job leases: \(error)")
        // Only where another replica could take the jobs: alone on its database (SQLite),
        // an engine keeps its steps running through a storage outage, retrying its writes.
        if configuration.followsOtherReplicas && ContinuousClock.now - lastRenewal > configuration.leaseDuration * 2 / 3 {
          for (id, control) in activeRuns.withLock({ $0 }) where !control.isStopped {
            logger.warning("stopping the step of a job whose lease could not be renewed", metadata: ["job": "\(id)"])
            control.stop()
          }
        }
      }
    }
  }

  /// Follows the event log, and stops at once the runner of a job this replica runs
  /// when another replica paused, discarded, restarted or deleted it.
  func followOtherReplicas() async {
    var last = (try? await store.currentRevision()) ?? 0
    for await _ in store.commitNotifications().cancelOnGracefulShutdown() {
      while let events = try? await store.events(after: last, limit: 500), !events.isEmpty {
        // A job submitted, resumed or requeued through another replica may start here.
        if events.contains(where: { $0.job.status == .pending && $0.kind != .deleted }) { wakeSignal.wake() }
        for event in events {
          guard let control = activeRuns.withLock({ $0[event.job.id] }), !control.isStopped,
            // Events from before the claim that started this run say nothing about it.
            event.revision > control.claimRevision
          else { continue }
          if event.kind == .deleted || event.job.status != .running || event.job.execution != control.execution {
            control.stop()
          }
        }
        last = events[events.count - 1].revision
      }
      // Compaction may have removed what was not read yet: go on from the newest.
      if let current = try? await store.currentRevision(), current > last,
        (try? await store.compactedThrough()).map({ $0 >= last }) == true
      {
        last = current
      }
    }
  }
}
