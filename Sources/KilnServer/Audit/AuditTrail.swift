public import Foundation
public import GRPCCore
import KilnCore
public import KilnAccess
public import KilnEngine
import Logging
import Synchronization

/// Writes every mutating call to the audit trail: who, what, which target, when, and
/// the result, refused calls included.
public struct AuditTrail: Sendable {
  private let access: AccessManager

  private let refusals: RefusalBudget

  /// Creates the trail over the access manager's store.
  /// - Parameter refusalsPerSecond: How many calls refused for want of a valid token
  ///   are recorded per second (with bursts of 10 times as many); the rest are counted,
  ///   and the count is written with the next one recorded.
  public init(access: AccessManager, refusalsPerSecond: Int = 10) {
    self.access = access
    self.refusals = RefusalBudget(perSecond: refusalsPerSecond)
  }

  /// Records a mutating call refused before its handler ran (no valid token).
  ///
  /// Anyone who can connect can make such calls, so they are rate-limited: 5,000
  /// unauthenticated calls used to write 5,000 rows in 8 s.
  func recordRefusal(context: ServerContext, error: RPCError) async {
    let method = context.descriptor.fullyQualifiedMethod
    guard AuditedMethods.all[context.descriptor] != nil else { return }
    guard let dropped = refusals.take() else { return }
    let message = dropped == 0 ? error.message : "\(error.message) (\(dropped) more such refusals were not recorded)"
    await access.record(
      AuditEvent(
        time: .kilnNow(), actor: "", tokenID: "", method: method, targetKind: "", target: "", project: "",
        code: error.code.rawValue, message: message, peer: context.remotePeer))
  }

  func record(context: ServerContext, caller: Caller, note: AuditNote, code: Int, message: String) async {
    await access.record(
      AuditEvent(
        time: .kilnNow(), actor: caller.name, tokenID: caller.tokenID ?? "",
        method: context.descriptor.fullyQualifiedMethod, targetKind: note.kind, target: note.target,
        project: note.project, code: code, message: message, peer: context.remotePeer))
  }
}

/// What an audited call acts on: filled from its request by ``CallOutcomeInterceptor``,
/// and by the handler with what only it learns (a new job's id, the project of the job
/// an operation found), through ``current``.
final class AuditNote: Sendable {
  private struct Fields {
    var kind: String
    var target: String
    var project: String
  }

  private let fields: Mutex<Fields>

  init(kind: String, target: String, project: String) {
    fields = Mutex(Fields(kind: kind, target: target, project: project))
  }

  /// The note of the audited call being handled; `nil` outside one.
  @TaskLocal static var current: AuditNote?

  /// What the call acts on: `job`, `project`...
  var kind: String { fields.withLock { $0.kind } }

  /// The id or name of what the call acts on.
  var target: String {
    get { fields.withLock { $0.target } }
    set { fields.withLock { $0.target = newValue } }
  }

  /// The project the call acts in, when there is one.
  var project: String {
    get { fields.withLock { $0.project } }
    set { fields.withLock { $0.project = newValue } }
  }
}

/// A token bucket for the audit rows of unauthenticated refusals.
final class RefusalBudget: Sendable {
  private struct State {
    var tokens: Double
    var last: ContinuousClock.Instant
    var dropped: Int
  }

  private let perSecond: Double
  private let burst: Double
  private let state: Mutex<State>

  init(perSecond: Int) {
    self.perSecond = Double(max(1, perSecond))
    self.burst = Double(max(1, perSecond) * 10)
    self.state = Mutex(State(tokens: Double(max(1, perSecond) * 10), last: .now, dropped: 0))
  }

  /// `nil` when this refusal is not to be recorded; else how many were dropped since
  /// the last one recorded.
  func take() -> Int? {
    state.withLock { state in
      let now = ContinuousClock.now
      let elapsed = now - state.last
      state.last = now
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      state.tokens = min(burst, state.tokens + seconds * perSecond)
      guard state.tokens >= 1 else {
        state.dropped += 1
        return nil
      }
      state.tokens -= 1
      defer { state.dropped = 0 }
      return state.dropped
    }
  }
}
