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
    // Each child says whether it is the body. When the RPC is cancelled the body is
    // cancelled too, and its own outcome (e.g. UNAVAILABLE with the revision to resume
    // after) is what the call ends with.
    try await withThrowingTaskGroup(of: Bool.self) { group in
      group.addTask {
        try await body()
        return true
      }
      group.addTask {
        await cancelled.wait()
        return false
      }
      while let bodyFinished = try await group.next() {
        group.cancelAll()
        if bodyFinished { return }
      }
    }
  } onCancelRPC: {
    cancelled.fire()
  }
}
