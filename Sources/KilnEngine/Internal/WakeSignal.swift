import Synchronization

/// Wakes the scheduler. Many wake-ups while it is busy collapse into one.
final class WakeSignal: Sendable {
  private let stream: AsyncStream<Void>
  private let continuation: AsyncStream<Void>.Continuation

  init() {
    (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  func wake() { continuation.yield() }

  var wakeUps: AsyncStream<Void> { stream }
}
