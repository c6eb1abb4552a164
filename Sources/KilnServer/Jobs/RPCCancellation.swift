import GRPCCore
import KilnEngine

/// Runs a streaming handler's body until it ends or gRPC cancels the RPC.
///
/// grpc-swift signals a cancelled RPC (the client went away, a deadline passed)
/// through the context's cancellation handle, not by cancelling the handler's task.
/// A watch that waits for events would otherwise keep its subscription until its next
/// heartbeat write fails; this cancels the body at once instead.
func cancellingOnRPCCancellation(_ body: @escaping @Sendable () async throws -> Void) async throws {
  let cancelled = Signal()
  try await withRPCCancellationHandler {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await body() }
      group.addTask {
        await cancelled.wait()
        if !Task.isCancelled { throw CancellationError() }
      }
      try await group.next()
      group.cancelAll()
    }
  } onCancelRPC: {
    cancelled.fire()
  }
}
