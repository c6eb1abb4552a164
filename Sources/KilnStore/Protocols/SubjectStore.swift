public import Foundation
public import KilnCore

/// Where the subjects jobs run on live, and the change that discards the jobs on a
/// subject that changes or disappears.
public protocol SubjectStore: Sendable {
  /// Whether a project of this name exists.
  func projectExists(_ name: String) async throws -> Bool

  /// Adds a subject.
  /// - Throws: ``KilnError``: not found (the project); already exists.
  func createSubject(_ subject: Subject) async throws

  /// The subject of this name in the project, if any.
  func subject(project: String, name: String) async throws -> Subject?

  /// The subjects of the projects named in `projects` (every project when `nil`), by
  /// project then name.
  func subjects(inProjects projects: Set<String>?) async throws -> [Subject]

  /// Changes or deletes a subject and, in the same transaction, discards every job on it
  /// that has not ended, each with an event (and the callbacks it triggers).
  ///
  /// - Parameters:
  ///   - body: Decides, from the stored subject, what to write: a changed subject, a
  ///     deletion, or nothing; and the reason the jobs on it are discarded (`nil`: keep
  ///     them). Throwing writes nothing.
  ///   - discard: Applied to each PENDING, RUNNING, PAUSED or ERROR job on the subject.
  /// - Returns: The subject after the change (`nil` once deleted) and the jobs discarded.
  /// - Throws: ``KilnError``: not found (the project, or the subject); whatever `body` throws.
  func changeSubject(
    project: String, name: String, now: Date,
    _ body: @escaping @Sendable (inout Subject) throws(KilnError) -> SubjectWrite,
    discard: @escaping @Sendable (inout Job, _ reason: String) -> Void
  ) async throws -> (subject: Subject?, discarded: [Job])
}

/// What a subject change decided to write (see ``SubjectStore/changeSubject(project:name:now:_:discard:)``).
public enum SubjectWrite: Sendable {
  /// Write the changed subject; discard the jobs on it with the reason, if one is given.
  case update(discardReason: String?)
  /// Delete the subject and discard the jobs on it with the reason.
  case delete(discardReason: String)
}
