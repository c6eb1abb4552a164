public import Foundation
import GRDB
public import KilnCore

extension SQLiteJobStore {
  public func projectExists(_ name: String) async throws -> Bool {
    try await writer.read { db in try Self.projectExists(db, name) }
  }

  public func createSubject(_ subject: Subject) async throws {
    try await writer.write { db in
      guard try Self.projectExists(db, subject.project) else { throw KilnError.projectNotFound(subject.project) }
      guard try Self.subjectVersion(db, project: subject.project, name: subject.name) == nil else {
        throw KilnError(
          code: .alreadyExists, message: "subject \(subject.name) already exists in project \(subject.project)")
      }
      try Self.writeSubject(db, subject, insert: true)
    }
  }

  public func subject(project: String, name: String) async throws -> Subject? {
    try await writer.read { db in try Self.fetchSubject(db, project: project, name: name) }
  }

  public func subjects(inProjects projects: Set<String>?) async throws -> [Subject] {
    try await writer.read { db in
      guard let projects else {
        return try Row.fetchAll(db, sql: "SELECT * FROM subject ORDER BY project, name").map(Self.subject)
      }
      guard !projects.isEmpty else { return [] }
      let marks = Array(repeating: "?", count: projects.count).joined(separator: ", ")
      return try Row.fetchAll(
        db, sql: "SELECT * FROM subject WHERE project IN (\(marks)) ORDER BY project, name",
        arguments: StatementArguments(projects.sorted())
      ).map(Self.subject)
    }
  }

  public func changeSubject(
    project: String, name: String, now: Date,
    _ body: @escaping @Sendable (inout Subject) throws(KilnError) -> SubjectWrite,
    discard: @escaping @Sendable (inout Job, _ reason: String) -> Void
  ) async throws -> (subject: Subject?, discarded: [Job]) {
    try await notifyingCommit { db in
      guard try Self.projectExists(db, project) else { throw KilnError.projectNotFound(project) }
      guard var subject = try Self.fetchSubject(db, project: project, name: name) else {
        throw KilnError.subjectNotFound(name, project: project)
      }
      let reason: String?
      let result: Subject?
      switch try body(&subject) {
      case .update(let discardReason):
        try Self.writeSubject(db, subject, insert: false)
        (reason, result) = (discardReason, subject)
      case .delete(let discardReason):
        try db.execute(sql: "DELETE FROM subject WHERE project = ? AND name = ?", arguments: [project, name])
        (reason, result) = (discardReason, nil)
      }
      guard let reason else { return (result, []) }
      // job_subject serves this; the jobs are discarded in the subject change's own
      // transaction, so no scheduler claim or step write can come between.
      let bodies = try String.fetchAll(
        db,
        sql: """
          SELECT body FROM job WHERE project = ? AND subject = ?
            AND status IN ('PENDING', 'RUNNING', 'PAUSED', 'ERROR')
          ORDER BY create_time, id
          """, arguments: [project, name])
      var discarded: [Job] = []
      for body in bodies {
        var job = try JobCoding.decodeJob(body)
        let previousStatus = job.status
        discard(&job, reason)
        guard job.status != previousStatus else { continue }
        job.revision = try Self.nextRevision(db)
        job.updateTime = now
        try Self.writeJob(db, job, insert: false)
        try self.appendEvent(db, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        discarded.append(job)
      }
      return (result, discarded)
    }
  }

  static func subjectVersion(_ db: Database, project: String, name: String) throws -> Int64? {
    try Int64.fetchOne(
      db, sql: "SELECT version FROM subject WHERE project = ? AND name = ?", arguments: [project, name])
  }

  private static func fetchSubject(_ db: Database, project: String, name: String) throws -> Subject? {
    try Row.fetchOne(db, sql: "SELECT * FROM subject WHERE project = ? AND name = ?", arguments: [project, name])
      .map(subject)
  }

  private static func writeSubject(_ db: Database, _ subject: Subject, insert: Bool) throws {
    let attributes = String(
      decoding: try JSONSerialization.data(withJSONObject: subject.attributes, options: [.sortedKeys]), as: UTF8.self)
    try db.execute(
      sql: """
        \(insert ? "INSERT" : "REPLACE") INTO subject
          (project, name, kind, schema, attributes, version, create_time, update_time, creator)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        subject.project, subject.name, subject.kind, subject.schema, attributes, subject.version,
        JobCoding.millis(subject.createTime), JobCoding.millis(subject.updateTime), subject.creator,
      ])
  }

  private static func subject(_ row: Row) throws -> Subject {
    let text: String = row["attributes"]
    let attributes = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
    return Subject(
      project: row["project"], name: row["name"], kind: row["kind"], schema: row["schema"], attributes: attributes,
      version: row["version"], createTime: JobCoding.date(millis: row["create_time"]),
      updateTime: JobCoding.date(millis: row["update_time"]), creator: row["creator"])
  }
}
