import Foundation
import NIOCore
import NIOPosix

/// Makes swift-nio's event loops Swift's global concurrency executor, when asked.
///
/// grpc-swift runs every RPC handler as a task on the global executor, never on the
/// event loop that holds its stream, so each unary call hops between the loop and the
/// concurrency pool about nine times; with the loops as the global executor those hops
/// are in-loop calls. Measured on these 2-core machines it does not pay: `kiln-bench
/// unary --executors both` (release, h2load 4×32, 2026-12-01) gave an empty handler
/// 5,321 req/s on the event loops against 7,004 on Swift's executor, and kilnd's GetJob
/// 3,017 against 3,293. So Swift's executor stays the default, and
/// `KILN_GLOBAL_EXECUTOR=nio` turns the takeover on for machines where it may pay
/// (more cores; swift-nio#2710 reports ≈30% there). Nothing in kilnd blocks a task, so
/// it is safe: a step process is waited for on its own thread (`ChildProcess`), SQLite
/// runs on GRDB's queues.
public enum EventLoopExecutor {
  /// The environment variable that chooses the global executor: `nio` for the event
  /// loops; anything else, or nothing, for Swift's own.
  public static let environmentVariable = "KILN_GLOBAL_EXECUTOR"

  /// Installs the event loops as the global executor if the environment asks for it.
  /// Call it once, as the first statement of `main`. Returns whether they are.
  @discardableResult
  public static func installIfAsked() -> Bool {
    guard ProcessInfo.processInfo.environment[environmentVariable] == "nio" else { return false }
    return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
  }
}
