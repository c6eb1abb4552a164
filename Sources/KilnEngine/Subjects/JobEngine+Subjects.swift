import Foundation
public import KilnCore
import KilnStore
import Logging

extension JobEngine {
  /// Creates a subject at version 1 (OPERATOR of the project, or ADMIN).
  ///
  /// - Throws: ``KilnError``: invalid argument naming the field; not found (the project
  ///   does not exist, or the caller holds no role in it); permission denied (the caller
  ///   only views it); already exists.
  public func createSubject(
    project: String, name: String, kind: String = "", schema: String = "", attributes: [String: String] = [:],
    caller: Caller
  ) async throws -> Subject {
    try Names.checkProject(project, field: "project")
    try caller.checkOperate(project, notFound: .projectNotFound(project))
    try Names.checkSubject(name, field: "name")
    try Subject.checkContent(kind: kind, schema: schema, attributes: attributes, attributesField: "attributes")
    let subject = Subject(
      project: project, name: name, kind: kind, schema: schema, attributes: attributes, createTime: .kilnNow(),
      creator: caller.name)
    try await store.createSubject(subject)
    logger.info("subject created", metadata: ["project": "\(project)", "subject": "\(name)", "by": "\(caller.name)"])
    return subject
  }

  /// The subject, if the caller holds a role in its project (or is an ADMIN).
  /// - Throws: ``KilnError``: invalid argument; not found (the project or the subject).
  public func subject(project: String, name: String, caller: Caller) async throws -> Subject {
    guard !project.isEmpty else { throw KilnError.invalidArgument(field: "project", "is empty") }
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    guard caller.canView(project) else { throw KilnError.projectNotFound(project) }
    guard let subject = try await store.subject(project: project, name: name) else {
      guard try await store.projectExists(project) else { throw KilnError.projectNotFound(project) }
      throw KilnError.subjectNotFound(name, project: project)
    }
    return subject
  }

  /// The subjects of `project` (of every project the caller holds a role in when `nil`),
  /// by project then name.
  /// - Throws: ``KilnError`` (not found) for a project that does not exist for the caller.
  public func subjects(project: String? = nil, caller: Caller) async throws -> [Subject] {
    guard let project, !project.isEmpty else { return try await store.subjects(inProjects: caller.viewableProjects) }
    guard caller.canView(project) else { throw KilnError.projectNotFound(project) }
    let subjects = try await store.subjects(inProjects: [project])
    // An empty list and a missing project look alike: tell them apart.
    if subjects.isEmpty, try await !store.projectExists(project) { throw KilnError.projectNotFound(project) }
    return subjects
  }

  /// Changes a subject's schema or attributes (OPERATOR of the project, or ADMIN).
  ///
  /// A change adds one to the version and, in the same transaction, discards every job
  /// on the subject that is PENDING, RUNNING, PAUSED or ERROR with the reason "subject
  /// NAME changed from vN to vN+1"; their running steps are then stopped. An update that
  /// changes nothing writes nothing.
  /// - Parameters:
  ///   - schema: The new schema; `nil` keeps it.
  ///   - setAttributes: Attributes to add or overwrite.
  ///   - removeAttributes: Attributes to remove.
  /// - Throws: ``KilnError``: invalid argument; not found; permission denied.
  public func updateSubject(
    project: String, name: String, schema: String? = nil, setAttributes: [String: String] = [:],
    removeAttributes: [String] = [], expectedVersion: Int64? = nil, caller: Caller
  ) async throws -> SubjectChange {
    try checkTarget(project: project, name: name, caller: caller)
    try Subject.checkContent(
      kind: "", schema: schema ?? "", attributes: setAttributes, attributesField: "set_attributes")
    let now = Date.kilnNow()
    let result = try await store.changeSubject(project: project, name: name, now: now) {
      (subject: inout Subject) throws(KilnError) -> SubjectWrite in
      if let expectedVersion, subject.version != expectedVersion {
        throw .versionMismatch(subject: name, expected: expectedVersion, actual: subject.version)
      }
      let before = subject
      guard subject.update(schema: schema, set: setAttributes, remove: removeAttributes, at: now) else {
        return .update(discardReason: nil)
      }
      guard subject.attributes.count <= Subject.maxAttributes else {
        throw .invalidArgument(field: "set_attributes", "would leave more than \(Subject.maxAttributes) attributes")
      }
      return .update(discardReason: before.changedReason(to: subject.version))
    } discard: { job, reason in
      job.discardAutomatically(reason: reason, at: now)
    }
    return finish(result, verb: "updated", project: project, name: name, caller: caller)
  }

  /// Deletes a subject (OPERATOR of the project, or ADMIN) and, in the same transaction,
  /// discards every job on it that is PENDING, RUNNING, PAUSED or ERROR with the reason
  /// "subject NAME deleted"; their running steps are then stopped.
  /// - Throws: ``KilnError``: invalid argument; not found; permission denied.
  public func deleteSubject(project: String, name: String, expectedVersion: Int64? = nil, caller: Caller)
    async throws -> SubjectChange
  {
    try checkTarget(project: project, name: name, caller: caller)
    let now = Date.kilnNow()
    let result = try await store.changeSubject(project: project, name: name, now: now) {
      (subject: inout Subject) throws(KilnError) -> SubjectWrite in
      if let expectedVersion, subject.version != expectedVersion {
        throw .versionMismatch(subject: name, expected: expectedVersion, actual: subject.version)
      }
      return .delete(discardReason: subject.deletedReason)
    } discard: { job, reason in
      job.discardAutomatically(reason: reason, at: now)
    }
    return finish(result, verb: "deleted", project: project, name: name, caller: caller)
  }

  private func checkTarget(project: String, name: String, caller: Caller) throws(KilnError) {
    guard !project.isEmpty else { throw KilnError.invalidArgument(field: "project", "is empty") }
    guard !name.isEmpty else { throw KilnError.invalidArgument(field: "name", "is empty") }
    try caller.checkOperate(project, notFound: .projectNotFound(project))
  }

  /// After the commit: stops the discarded jobs' runners, exactly as a manual discard does.
  private func finish(
    _ result: (subject: Subject?, discarded: [Job]), verb: String, project: String, name: String, caller: Caller
  ) -> SubjectChange {
    for job in result.discarded { stopRunner(jobID: job.id) }
    if !result.discarded.isEmpty { wakeSignal.wake() }
    logger.info(
      "subject \(verb)",
      metadata: [
        "project": "\(project)", "subject": "\(name)", "version": "\(result.subject.map { String($0.version) } ?? "-")",
        "discarded": "\(result.discarded.count)", "by": "\(caller.name)",
      ])
    return SubjectChange(subject: result.subject, discardedJobIDs: result.discarded.map(\.id))
  }
}
