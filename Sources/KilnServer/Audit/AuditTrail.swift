public import Foundation
public import GRPCCore
import KilnCore
public import KilnEngine
import Logging

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

  /// Creates the trail over the access manager's store.
  public init(access: AccessManager) {
    self.access = access
  }

  /// Records a mutating call refused before its handler ran (no valid token).
  func recordRefusal(context: ServerContext, error: RPCError) async {
    let method = context.descriptor.fullyQualifiedMethod
    guard Self.mutatingMethods.contains(method) else { return }
    await access.record(
      AuditEvent(
        time: .kilnNow(), actor: "", tokenID: "", method: method, targetKind: "", target: "", project: "",
        code: error.code.rawValue, message: error.message, peer: context.remotePeer))
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
