public import Foundation
public import KilnEngine
public import KilnCore

extension JobWatcher {
  /// How often a follower looks at a silent log. Step processes write their logs
  /// directly, so growth is not an event; a change of the job wakes the follower at once.
  static let logCheckInterval: Duration = .milliseconds(200)

  /// Sends a step's log from `offset`, then new bytes as they are written, until the
  /// step can no longer write to it and every byte is sent (`kubectl logs -f`).
  ///
  /// - Parameter send: Receives each chunk and the offset after it.
  /// - Throws: ``KilnError``: not found (job or step), invalid argument or out of range (offset).
  public func followStepLog(
    jobID: String, step: String, offset: Int64, caller: Caller, send: @Sendable (Data, Int64) async throws -> Void
  ) async throws {
    try await counted {
      try await followUncounted(jobID: jobID, step: step, offset: offset, caller: caller, send: send)
    }
  }

  private func followUncounted(
    jobID: String, step: String, offset: Int64, caller: Caller, send: @Sendable (Data, Int64) async throws -> Void
  ) async throws {
    let subscription = try hub.subscribe()
    defer { hub.unsubscribe(subscription) }
    var offset = offset
    while true {
      try Task.checkCancellation()
      let chunk = try await engine.readStepLog(jobID: jobID, step: step, offset: offset, limit: 64 * 1024, caller: caller)
      if !chunk.data.isEmpty {
        try await send(chunk.data, chunk.nextOffset)
        offset = chunk.nextOffset
        continue
      }
      if !chunk.stepMayWrite { return }
      // Skip the hub's events; any change wakes us to read again.
      if case .ended(let reason) = hub.next(subscription, limit: .max) {
        if reason == .shutdown {
          throw KilnError(code: .unavailable, message: "the server is shutting down; follow again from offset \(offset)")
        }
      }
      await subscription.waitForWake(timeout: Self.logCheckInterval)
    }
  }
}
