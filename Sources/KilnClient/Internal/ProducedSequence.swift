import AsyncAlgorithms

/// An `AsyncSequence` whose elements a producer sends, with back-pressure.
///
/// gRPC streaming calls are scoped to a closure, so a sequence that outlives one call
/// (a watch that reconnects) needs a task of its own to run them: each iterator starts
/// one, and cancels it when the iterator is discarded. The channel makes the producer
/// wait for the consumer, so a slow reader never builds a backlog in the client.
public struct ProducedSequence<Element: Sendable>: AsyncSequence, Sendable {
  let produce: @Sendable (AsyncThrowingChannel<Element, any Error>) async -> Void

  init(_ produce: @escaping @Sendable (AsyncThrowingChannel<Element, any Error>) async -> Void) {
    self.produce = produce
  }

  public func makeAsyncIterator() -> Iterator {
    let channel = AsyncThrowingChannel<Element, any Error>()
    let produce = self.produce
    let task = Task {
      await produce(channel)
      channel.finish()
    }
    return Iterator(base: channel.makeAsyncIterator(), producer: ProducerHandle(task: task))
  }

  /// Reads what the producer sends; discarding it stops the producer.
  public struct Iterator: AsyncIteratorProtocol {
    var base: AsyncThrowingChannel<Element, any Error>.Iterator
    let producer: ProducerHandle

    public mutating func next() async throws -> Element? {
      try await base.next()
    }
  }
}

/// Cancels the producer task when the last iterator holding it goes away.
final class ProducerHandle: Sendable {
  let task: Task<Void, Never>

  init(task: Task<Void, Never>) {
    self.task = task
  }

  deinit { task.cancel() }
}
