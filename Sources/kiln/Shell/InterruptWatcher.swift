import Foundation
import Synchronization

/// Turns Ctrl-C (SIGINT) into cancelling the command that is running, instead of
/// ending the shell.
final class InterruptWatcher: Sendable {
  private let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
  // Only set up in init and cancelled in deinit; Dispatch sources are thread-safe.
  nonisolated(unsafe) private let source: any DispatchSourceSignal

  init() {
    signal(SIGINT, SIG_IGN)
    source = DispatchSource.makeSignalSource(signal: SIGINT)
    source.setEventHandler { [weak self] in self?.fire() }
    source.resume()
  }

  deinit {
    source.cancel()
    signal(SIGINT, SIG_DFL)
  }

  private func fire() {
    let continuation = waiter.withLock { waiting in
      defer { waiting = nil }
      return waiting
    }
    continuation?.resume()
  }

  private func nextInterrupt() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let resumeNow = waiter.withLock { waiting in
          if Task.isCancelled { return true }
          waiting = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      fire()
    }
  }

  /// Runs `body` until it ends or Ctrl-C is pressed; `nil` when interrupted.
  func running(_ body: @escaping @Sendable () async -> Int32) async -> Int32? {
    await withTaskGroup(of: Int32?.self) { group in
      group.addTask { await body() }
      group.addTask {
        await self.nextInterrupt()
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first
    }
  }
}
