public import GRPCCore
import KilnCore
public import KilnEngine
public import KilnProto
import KilnWire
import SwiftProtobuf
public import Logging

/// The `kiln.v1.SubjectService` RPCs over the engine, which owns the automatic discard
/// of the jobs on a subject that changes or goes away.
public struct SubjectService: Kiln_V1_SubjectService.SimpleServiceProtocol {
  private let engine: JobEngine
  private let audit: AuditTrail
  private let logger: Logger

  /// Creates the service.
  public init(engine: JobEngine, audit: AuditTrail, logger: Logger) {
    self.engine = engine
    self.audit = audit
    self.logger = logger
  }

  public func createSubject(request: Kiln_V1_CreateSubjectRequest, context: ServerContext) async throws
    -> Kiln_V1_CreateSubjectResponse
  {
    let subject = try await engine.createSubject(
      project: request.project, name: request.name, kind: request.kind, schema: request.schema,
      attributes: request.attributes, caller: try RequestContext.caller)
    return .with { $0.subject = Kiln_V1_Subject(subject) }
  }

  public func getSubject(request: Kiln_V1_GetSubjectRequest, context: ServerContext) async throws
    -> Kiln_V1_GetSubjectResponse
  {
    let subject = try await engine.subject(project: request.project, name: request.name, caller: try RequestContext.caller)
    return .with { $0.subject = Kiln_V1_Subject(subject) }
  }

  public func listSubjects(request: Kiln_V1_ListSubjectsRequest, context: ServerContext) async throws
    -> Kiln_V1_ListSubjectsResponse
  {
    let subjects = try await engine.subjects(project: request.project, caller: try RequestContext.caller)
    return .with { $0.subjects = subjects.map(Kiln_V1_Subject.init) }
  }

  public func updateSubject(request: Kiln_V1_UpdateSubjectRequest, context: ServerContext) async throws
    -> Kiln_V1_UpdateSubjectResponse
  {
    let change = try await engine.updateSubject(
      project: request.project, name: request.name, schema: request.hasSchema ? request.schema : nil,
      setAttributes: request.setAttributes, removeAttributes: request.removeAttributes,
      expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil, caller: try RequestContext.caller)
    return .with {
      if let subject = change.subject { $0.subject = Kiln_V1_Subject(subject) }
      $0.discardedJobIds = change.discardedJobIDs
    }
  }

  public func deleteSubject(request: Kiln_V1_DeleteSubjectRequest, context: ServerContext) async throws
    -> Kiln_V1_DeleteSubjectResponse
  {
    let change = try await engine.deleteSubject(
      project: request.project, name: request.name,
      expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil, caller: try RequestContext.caller)
    return .with { $0.discardedJobIds = change.discardedJobIDs }
  }
}
