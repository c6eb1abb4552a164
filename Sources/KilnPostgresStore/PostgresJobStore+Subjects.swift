public import Foundation
public import KilnCore
public import KilnStore
import PostgresNIO

extension PostgresJobStore {
  public func projectExists(_ name: String) async throws -> Bool {
    try await read { tx in try await Self.projectExists(tx, name) }
  }

  public func createSubject(_ subject: Subject) async throws {
    try await write { tx in
      guard try await Self.projectExists(tx, subject.project) else { throw KilnError.projectNotFound(subject.project) }
      let inserted = try await tx.rows(
        Self.subjectWrite(subject, upsert: false).appendingReturning, as: String.self)
      guard !inserted.isEmpty else {
        throw KilnError(
          code: .alreadyExists, message: "subject \(subject.name) already exists in project \(subject.project)")
      }
    }
  }

  public func subject(project: String, name: String) async throws -> Subject? {
    try await read { tx in try await Self.fetchSubject(tx, project: project, name: name) }
  }

  public func subjects(inProjects projects: Set<String>?) async throws -> [Subject] {
    try await read { tx in
      var query = SQLBuilder("SELECT \(Self.subjectColumns) FROM subject")
      if let projects {
        guard !projects.isEmpty else { return [] }
        query.append(" WHERE project = ANY(\(query.bind(projects.sorted())))")
      }
      query.append(" ORDER BY project, name")
      var subjects: [Subject] = []
      for try await row in try await tx.query(query.query) { subjects.append(try Self.subject(row)) }
      return subjects
    }
  }

  public func changeSubject(
    project: String, name: String, now: Date,
    _ body: @escaping @Sendable (inout Subject) throws(KilnError) -> SubjectWrite,
    discard: @escaping @Sendable (inout Job, _ reason: String) -> Void
  ) async throws -> (subject: Subject?, discarded: [Job]) {
    try await jobWrite { tx, revisions in
      guard try await Self.projectExists(tx, project) else { throw KilnError.projectNotFound(project) }
      guard var subject = try await Self.fetchSubject(tx, project: project, name: name) else {
        throw KilnError.subjectNotFound(name, project: project)
      }
      let reason: String?
      let result: Subject?
      switch try body(&subject) {
      case .update(let discardReason):
        _ = try await tx.rows(Self.subjectWrite(subject, upsert: true).appendingReturning, as: String.self)
        (reason, result) = (discardReason, subject)
      case .delete(let discardReason):
        try await tx.execute("DELETE FROM subject WHERE project = \(project) AND name = \(name)")
        (reason, result) = (discardReason, nil)
      }
      guard let reason else { return (result, []) }
      // In the subject change's own transaction, under the revision lock: no claim or
      // step write, on any replica, can come between.
      let bodies = try await tx.rows(
        """
        SELECT body FROM job WHERE project = \(project) AND subject = \(name)
          AND status IN ('PENDING', 'RUNNING', 'PAUSED', 'ERROR')
        ORDER BY create_time, id
        """, as: String.self)
      var discarded: [Job] = []
      for body in bodies {
        var job = try JobCoding.decodeJob(body)
        let previousStatus = job.status
        discard(&job, reason)
        guard job.status != previousStatus else { continue }
        job.revision = revisions.next()
        job.updateTime = now
        try await Self.writeJob(tx, job, insert: false)
        try await self.appendEvent(tx, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        discarded.append(job)
      }
      return (result, discarded)
    }
  }

  static let subjectColumns = "project, name, kind, schema, attributes, version, create_time, update_time, creator"

  private static func fetchSubject(_ tx: SQLConnection, project: String, name: String) async throws -> Subject? {
    var query = SQLBuilder("SELECT \(subjectColumns) FROM subject WHERE project = ")
    query.append(query.bind(project))
    query.append(" AND name = \(query.bind(name))")
    for try await row in try await tx.query(query.query) { return try subject(row) }
    return nil
  }

  /// An insert of `subject` that does nothing when it exists, or (`upsert`) replaces it.
  private static func subjectWrite(_ subject: Subject, upsert: Bool) throws -> SQLBuilder {
    let attributes = String(
      decoding: try JSONSerialization.data(withJSONObject: subject.attributes, options: [.sortedKeys]), as: UTF8.self)
    var query = SQLBuilder()
    let values = [
      query.bind(subject.project), query.bind(subject.name), query.bind(subject.kind), query.bind(subject.schema),
      query.bind(attributes), query.bind(subject.version), query.bind(JobCoding.millis(subject.createTime)),
      query.bind(JobCoding.millis(subject.updateTime)), query.bind(subject.creator),
    ]
    query.append(
      """
      INSERT INTO subject (\(subjectColumns)) VALUES (\(values.joined(separator: ", ")))
      ON CONFLICT (project, name) DO \(upsert
        ? """
        UPDATE SET kind = excluded.kind, schema = excluded.schema, attributes = excluded.attributes,
          version = excluded.version, create_time = excluded.create_time, update_time = excluded.update_time,
          creator = excluded.creator
        """ : "NOTHING")
      """)
    return query
  }

  private static func subject(_ row: PostgresRow) throws -> Subject {
    let (project, name, kind, schema, text, version, created, updated, creator) = try row.decode(
      (String, String, String, String, String, Int64, Int64, Int64, String).self)
    let attributes = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]) ?? [:]
    return Subject(
      project: project, name: name, kind: kind, schema: schema, attributes: attributes, version: version,
      createTime: JobCoding.date(millis: created), updateTime: JobCoding.date(millis: updated), creator: creator)
  }
}

extension SQLBuilder {
  /// The statement with `RETURNING name`, so that its rows tell whether it wrote.
  var appendingReturning: PostgresQuery {
    var copy = self
    copy.append(" RETURNING name")
    return copy.query
  }
}
