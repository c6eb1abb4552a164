public import Foundation
import KilnCore
import KilnEngine
public import KilnMetrics
public import KilnStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Delivers queued completion callbacks: at least once, with exponential backoff,
/// never in the engine's way.
///
/// The store queues a delivery in the same transaction as the status change that
/// triggers it, so a crash loses none; this service reads the queue when a commit is
/// announced (or when the next retry falls due), never by polling each job. Attempts
/// run concurrently, at most ``CallbackConfiguration/maxConcurrentDeliveries`` at once
/// and ``CallbackConfiguration/maxConcurrentPerReceiver`` per receiver (URL origin),
/// each bounded by ``CallbackConfiguration/timeout``: a receiver that never answers
/// holds only its own slots, and other jobs' callbacks go on. At graceful shutdown the
/// attempts in flight are cancelled without being counted; their deliveries stay due
/// and are made after the next start.
public final class CallbackDeliverer: Service, Sendable {
  let store: any CallbackOutbox & JobEventLog
  let sender: any CallbackSender
  /// How deliveries are retried and limited.
  public let configuration: CallbackConfiguration
  let logger: Logger
  /// Where delivery attempts are counted by outcome.
  let metrics: KilnMetrics
  private let wakeUp = Signal()
  private let inFlight = Mutex(InFlight())

  private struct InFlight {
    var ids: Set<Int64> = []
    var perOrigin: [String: Int] = [:]
  }

  /// Creates a deliverer. Nothing is sent until ``run()``.
  ///
  /// - Parameter sender: How a callback is posted; AsyncHTTPClient when `nil`.
  public init(
    store: any CallbackOutbox & JobEventLog, configuration: CallbackConfiguration = .init(), sender: (any CallbackSender)? = nil,
    metrics: KilnMetrics = KilnMetrics(), logger: Logger
  ) {
    self.store = store
    self.metrics = metrics
    self.configuration = configuration
    self.sender = sender ?? HTTPCallbackSender()
    self.logger = logger
  }

  /// Delivers until graceful shutdown, then cancels the attempts in flight.
  public func run() async throws {
    // Subscribed before the first read of the queue, so no commit falls between them.
    let commits = store.commitNotifications()
    await withGracefulShutdownHandler {
      await withDiscardingTaskGroup { group in
        group.addTask {
          for await _ in commits { self.wakeUp.fire() }
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
          let now = Date()
          var nextDue: Date?
          do {
            for due in try await claimDue(at: now) {
              group.addTask { await self.attempt(due) }
            }
            nextDue = try await store.nextCallbackDue(after: now)
          } catch is CancellationError {
            break  // the service is being torn down
          } catch {
            logger.error("cannot read the callback queue: \(error)")
            nextDue = now.addingTimeInterval(1)
          }
          await waitForWakeUp(until: nextDue)
        }
        group.cancelAll()
      }
    } onGracefulShutdown: {
      self.wakeUp.fire()
    }
    do {
      try await sender.shutdown()
    } catch {
      logger.warning("cannot shut the callback client down: \(error)")
    }
  }

  /// Reserves slots for due deliveries, oldest due first, within the limits.
  private func claimDue(at now: Date) async throws -> [DueCallback] {
    var claimed: [DueCallback] = []
    while true {
      let (freeSlots, busyIDs, fullOrigins) = inFlight.withLock { state in
        (
          configuration.maxConcurrentDeliveries - state.ids.count, state.ids,
          Set(state.perOrigin.filter { $0.value >= configuration.maxConcurrentPerReceiver }.keys)
        )
      }
      guard freeSlots > 0 else { return claimed }
      let due = try await store.dueCallbacks(
        at: now, excludingIDs: busyIDs, excludingOrigins: fullOrigins, limit: freeSlots)
      guard !due.isEmpty else { return claimed }
      let taken = inFlight.withLock { state in
        due.filter { callback in
          guard state.ids.count < configuration.maxConcurrentDeliveries,
            state.perOrigin[callback.origin, default: 0] < configuration.maxConcurrentPerReceiver
          else { return false }
          state.ids.insert(callback.delivery.id)
          state.perOrigin[callback.origin, default: 0] += 1
          return true
        }
      }
      claimed += taken
      // All taken: done. Otherwise a receiver reached its limit mid-page, and others may
      // be due behind it: ask again without it. (The first of a page is always taken, so
      // this ends.)
      if taken.count == due.count { return claimed }
    }
  }

  /// Makes one attempt and records it, unless shutdown cut it short.
  private func attempt(_ due: DueCallback) async {
    let delivery = due.delivery
    defer {
      inFlight.withLock { state in
        state.ids.remove(delivery.id)
        state.perOrigin[due.origin, default: 1] -= 1
        if state.perOrigin[due.origin] == 0 { state.perOrigin[due.origin] = nil }
      }
      wakeUp.fire()
    }
    let headers: [(name: String, value: String)] = [
      ("Content-Type", "application/json"), ("User-Agent", "kiln"), ("Kiln-Delivery", String(delivery.id)),
      ("Kiln-Job-Id", delivery.jobID),
    ]
    let statusCode: Int?
    let result: String
    do {
      let code = try await sender.post(
        url: delivery.url, body: due.payload, headers: headers, timeout: configuration.timeout)
      statusCode = code
      result = "HTTP \(code)"
    } catch {
      statusCode = nil
      result = "\(error)"
    }
    // Shutting down: the attempt is not counted, and the delivery stays due for the next start.
    if Task.isCancelled { return }
    let now = Date.kilnNow()
    let delivered = statusCode.map { (200..<300).contains($0) } ?? false
    let attempts = delivery.attempts + 1
    let nextAttempt: Date? =
      delivered || attempts >= configuration.maxAttempts
      ? nil : now.addingTimeInterval(configuration.backoff(afterAttempt: attempts))
    do {
      try await store.recordCallbackAttempt(
        id: delivery.id,
        CallbackAttempt(
          time: now, result: result, statusCode: statusCode, delivered: delivered, nextAttemptTime: nextAttempt))
    } catch {
      logger.error("cannot record a callback attempt: \(error)", metadata: ["delivery": "\(delivery.id)"])
    }
    let metadata: Logger.Metadata = [
      "job": "\(delivery.jobID)", "url": "\(delivery.url)", "attempt": "\(attempts)", "result": "\(result)",
    ]
    if delivered {
      logger.info("callback delivered", metadata: metadata)
      metrics.callbackAttempted(outcome: "delivered")
    } else if nextAttempt == nil {
      logger.error("callback given up after \(attempts) attempts", metadata: metadata)
      metrics.callbackAttempted(outcome: "given_up")
    } else {
      logger.warning("callback failed; will retry", metadata: metadata)
      metrics.callbackAttempted(outcome: "retrying")
    }
  }

  /// Waits for a commit, a finished attempt, shutdown, or `deadline`.
  private func waitForWakeUp(until deadline: Date?) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.wakeUp.waitAndReset() }
      if let deadline {
        let delay = max(deadline.timeIntervalSinceNow, 0.001)
        group.addTask { try? await Task.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up)))) }
      }
      await group.next()
      group.cancelAll()
    }
  }
}

/// How completion callbacks are delivered.
public struct CallbackConfiguration: Sendable, Hashable {
  /// The most attempts in flight at once.
  public var maxConcurrentDeliveries: Int
  /// The most attempts in flight at once to one receiver (URL origin).
  public var maxConcurrentPerReceiver: Int
  /// The longest one attempt may take, connection and answer included.
  public var timeout: Duration
  /// The wait after the first failed attempt; it doubles after each further one.
  public var initialBackoff: Duration
  /// The longest wait between two attempts.
  public var maxBackoff: Duration
  /// Attempts after which an undelivered callback is given up (shown in the job's detail).
  public var maxAttempts: Int

  /// Creates a configuration. The defaults retry for about four hours: waits of
  /// 1 s, 2 s, 4 s, … up to 5 minutes, 50 attempts in all.
  public init(
    maxConcurrentDeliveries: Int = 16, maxConcurrentPerReceiver: Int = 2, timeout: Duration = .seconds(10),
    initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(300), maxAttempts: Int = 50
  ) {
    self.maxConcurrentDeliveries = max(maxConcurrentDeliveries, 1)
    self.maxConcurrentPerReceiver = max(maxConcurrentPerReceiver, 1)
    self.timeout = timeout
    self.initialBackoff = initialBackoff
    self.maxBackoff = maxBackoff
    self.maxAttempts = max(maxAttempts, 1)
  }

  /// The wait, in seconds, before the attempt after attempt number `attempt` (1-based).
  public func backoff(afterAttempt attempt: Int) -> TimeInterval {
    let doubled = initialBackoff.timeInterval * pow(2, Double(min(max(attempt - 1, 0), 30)))
    return min(doubled, maxBackoff.timeInterval)
  }
}
