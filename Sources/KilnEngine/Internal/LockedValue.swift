import Synchronization

/// A value shared between tasks and threads, behind a lock.
package final class LockedValue<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  package init(_ value: Value) {
    mutex = Mutex(value)
  }

  package func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
    mutex.withLock { body(&$0) }
  }

  package var value: Value { mutex.withLock { $0 } }
}
