public import Foundation
public import GRPCCore
import KilnCore
public import KilnEngine
import Logging
import Synchronization

/// Writes every mutating call to the audit trail: who, what, which target, when, and
/// the result, refused calls included.
public struct AuditTrail: Sendable {
  private let access: AccessManager

  /// The calls that change something, by full method name. Reads are not audited.
  public static let mutatingMethods: Set<String> = [
    "kiln.v1.JobService/SubmitJob", "kiln.v1.JobService/PauseJob", "kiln.v1.JobService/ResumeJob",
    "kiln.v1.JobService/RestartJob", "kiln.v1.JobService/DiscardJob", "kiln.v1.JobService/DeleteJob",
    "kiln.v1.JobService/BatchJobs", "kiln.v1.ProjectService/CreateProject", "kiln.v1.ProjectService/UpdateProject",
    "kiln.v1.ProjectService/DeleteProject",
    "kiln.v1.AccessService/CreateUser", "kiln.v1.AccessService/SetUserDisabled", "kiln.v1.AccessService/GrantRole",
    "kiln.v1.AccessService/RevokeRole", "kiln.v1.AccessService/CreateToken", "kiln.v1.AccessService/RevokeToken",
    "kiln.v1.SubjectService/CreateSubject", "kiln.v1.SubjectService/UpdateSubject", "kiln.v1.SubjectService/DeleteSubject",
  ]

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
    guard Self.mutatingMethods.contains(method) else { return }
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

/// What an audited call acts on; the handler fills in what it learns (e.g. a job's project).
struct AuditNote: Sendable {
  var kind: String
  var target: String
  var project: String = ""
}

/// Runs a mutating handler's body like ``mappingErrors(_:_:_:)`` and writes the call,
/// with its result, to the audit trail.
func audited<T>(
  _ audit: AuditTrail, _ logger: Logger, _ context: ServerContext, kind: String, target: String,
  _ body: (inout AuditNote) async throws -> T
) async throws -> T {
  var note = AuditNote(kind: kind, target: target)
  let caller = try RequestContext.caller
  do {
    let result = try await mappingErrors(logger, context.descriptor.method) { try await body(&note) }
    await audit.record(context: context, caller: caller, note: note, code: 0, message: "")
    return result
  } catch let error as RPCError {
    await audit.record(context: context, caller: caller, note: note, code: error.code.rawValue, message: error.message)
    throw error
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
