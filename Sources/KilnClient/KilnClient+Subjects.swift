import GRPCCore
public import KilnCore
import KilnProto
import KilnWire
import SwiftProtobuf

extension KilnClient {
  /// Creates a subject at version 1 (OPERATOR of the project, or ADMIN). Jobs can then
  /// be submitted against it.
  /// - Throws: ``KilnError``: already exists; invalid argument naming the field; not
  ///   found (the project); permission denied (a VIEWER).
  public func createSubject(
    _ name: String, project: String, kind: String = "", schema: String = "", attributes: [String: String] = [:]
  ) async throws(KilnError) -> Subject {
    let response = try await call {
      try await subjectService.createSubject(
        .with {
          $0.project = project
          $0.name = name
          $0.kind = kind
          $0.schema = schema
          $0.attributes = attributes
        }, options: callOptions())
    }
    return response.subject.domain
  }

  /// A subject of a project the caller holds a role in.
  /// - Throws: ``KilnError``: not found (the project or the subject).
  public func subject(_ name: String, project: String) async throws(KilnError) -> Subject {
    try await call {
      try await subjectService.getSubject(
        .with {
          $0.project = project
          $0.name = name
        }, options: callOptions())
    }.subject.domain
  }

  /// The subjects of `project`, or of every project the caller holds a role in when
  /// `nil`, by project then name.
  /// - Throws: ``KilnError``: not found (the project).
  public func subjects(project: String? = nil) async throws(KilnError) -> [Subject] {
    try await call {
      try await subjectService.listSubjects(.with { $0.project = project ?? "" }, options: callOptions())
    }.subjects.map(\.domain)
  }

  /// Changes a subject's schema or attributes. A change bumps its version and discards
  /// every PENDING, RUNNING, PAUSED or ERROR job on it; an update that changes nothing
  /// changes nothing. Retrying it after a lost reply is harmless.
  /// - Parameters:
  ///   - schema: The new schema; `nil` keeps it.
  ///   - setAttributes: Attributes to add or overwrite.
  ///   - removeAttributes: Attributes to remove.
  ///   - expectedVersion: If set, refused (aborted, ``KilnError/details`` `kiln-subject-version`
  ///     the current version) unless the subject is at it: two editors never overwrite each
  ///     other unseen. A retry after a lost reply is then refused too: read the subject.
  /// - Returns: The subject after the change and the jobs it discarded.
  /// - Throws: ``KilnError``: not found; invalid argument; permission denied (a VIEWER); aborted.
  public func updateSubject(
    _ name: String, project: String, schema: String? = nil, setAttributes: [String: String] = [:],
    removeAttributes: [String] = [], expectedVersion: Int64? = nil
  ) async throws(KilnError) -> SubjectChange {
    let response = try await call {
      try await subjectService.updateSubject(
        .with {
          $0.project = project
          $0.name = name
          if let schema { $0.schema = schema }
          $0.setAttributes = setAttributes
          $0.removeAttributes = removeAttributes
          if let expectedVersion { $0.expectedVersion = expectedVersion }
        }, options: callOptions())
    }
    return SubjectChange(subject: response.subject.domain, discardedJobIDs: response.discardedJobIds)
  }

  /// Deletes a subject and discards every PENDING, RUNNING, PAUSED or ERROR job on it.
  /// - Parameter expectedVersion: If set, refused (aborted) unless the subject is at it.
  /// - Returns: The change: no subject, and the jobs discarded.
  /// - Throws: ``KilnError``: not found; permission denied (a VIEWER).
  public func deleteSubject(_ name: String, project: String, expectedVersion: Int64? = nil) async throws(KilnError)
    -> SubjectChange
  {
    let response = try await call {
      try await subjectService.deleteSubject(
        .with {
          $0.project = project
          $0.name = name
          if let expectedVersion { $0.expectedVersion = expectedVersion }
        }, options: callOptions())
    }
    return SubjectChange(subject: nil, discardedJobIDs: response.discardedJobIds)
  }
}
