public import Foundation
public import KilnCore
public import KilnStore
import PostgresNIO

/// A statement built piece by piece, its values bound as `$1`, `$2`… as they are added
/// (PostgresQuery's interpolation needs the whole statement at once).
struct SQLBuilder {
  private(set) var text: String
  private(set) var binds = PostgresBindings()

  init(_ text: String = "") { self.text = text }

  /// Binds `value` and returns its placeholder.
  mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
    binds.append(value)
    return "$\(binds.count)"
  }

  mutating func append(_ more: String) { text += more }

  var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}

extension PostgresJobStore {
  public func listJobs(filter: JobFilter, order: JobOrder, limit: Int, after cursor: JobPageCursor?) async throws
    -> JobPage
  {
    try await read(consistent: true) { tx in
      // By project and status only: the kept counts (the same WHERE fits both tables).
      var count = SQLBuilder(
        filter.selectsByProjectAndStatusOnly ? "SELECT COALESCE(SUM(n), 0)::BIGINT FROM job_count" : "SELECT COUNT(*) FROM job")
      count.append(Self.whereClause(for: filter, into: &count, extra: []))
      let total = try await tx.value(count.query, as: Int64.self) ?? 0

      let column = JobCoding.column(for: order.field)
      let direction = order.ascending ? "ASC" : "DESC"
      let comparison = order.ascending ? ">" : "<"
      let isText = Self.isText(order.field)
      // Aliased: PostgreSQL's ORDER BY takes a bare name for the output column first,
      // and `duration_ms::TEXT AS duration_ms` would sort numbers as text.
      var page = SQLBuilder("SELECT \(column)::TEXT AS sort_value, body FROM job")
      var keyset: [String] = []
      if let cursor {
        let value: String
        switch cursor.lastValue {
        case .integer(let number): value = isText ? String(number) : page.bind(number)
        case .text(let text): value = isText ? page.bind(text) : page.bind(Int64(text) ?? 0)
        }
        let id = page.bind(cursor.lastID)
        keyset.append("(\(column) \(comparison) \(value) OR (\(column) = \(value) AND id \(comparison) \(id)))")
      }
      page.append(Self.whereClause(for: filter, into: &page, extra: keyset))
      page.append(" ORDER BY \(column) \(direction), id \(direction) LIMIT \(page.bind(Int64(limit + 1)))")
      let rows = try await tx.rows(page.query, as: (String, String).self)
      let jobs = try rows.prefix(limit).map { try JobCoding.decodeJob($0.1) }
      var next: JobPageCursor?
      if rows.count > limit, let last = rows.prefix(limit).last, let lastJob = jobs.last {
        let value: JobSortValue = isText ? .text(last.0) : .integer(Int64(last.0) ?? 0)
        next = JobPageCursor(lastValue: value, lastID: lastJob.id)
      }
      // In the same snapshot as the page: every writer updates revision_counter in its
      // transaction, so the counter this snapshot sees is exactly what it reflects.
      return JobPage(jobs: jobs, next: next, totalCount: Int(total), revision: try await Self.latestRevision(tx))
    }
  }

  public func jobIDs(matching filter: JobFilter, limit: Int) async throws -> [String] {
    try await read { tx in
      var query = SQLBuilder("SELECT id FROM job")
      query.append(Self.whereClause(for: filter, into: &query, extra: []))
      query.append(" ORDER BY create_time, id LIMIT \(query.bind(Int64(limit)))")
      return try await tx.rows(query.query, as: String.self)
    }
  }

  /// The SQL form of ``JobFilter/matches(_:)`` (the SQLite store's, in PostgreSQL's
  /// dialect); the contract suite checks that the two agree.
  static func whereClause(for filter: JobFilter, into query: inout SQLBuilder, extra: [String]) -> String {
    var clauses = extra
    func inList(_ column: String, _ values: [String]) {
      guard !values.isEmpty else { return }
      clauses.append("\(column) = ANY(\(query.bind(values)))")
    }
    inList("id", filter.ids)
    inList("project", filter.projects)
    if let allowed = filter.allowedProjects {
      if allowed.isEmpty { clauses.append("FALSE") } else { inList("project", allowed.sorted()) }
    }
    inList("status", filter.statuses.map(\.rawValue))
    inList("job_type", filter.jobTypes)
    if let subject = filter.subject {
      clauses.append("subject = \(query.bind(subject))")
    }
    if let key = filter.key, !key.isEmpty {
      let needle = query.bind(key.lowercased())
      clauses.append("(strpos(lower(id), \(needle)) > 0 OR strpos(lower(subject), \(needle)) > 0)")
    }
    if let from = filter.createdFrom {
      clauses.append("create_time >= \(query.bind(JobCoding.millis(from)))")
    }
    if let to = filter.createdTo {
      clauses.append("create_time < \(query.bind(JobCoding.millis(to)))")
    }
    return clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
  }


  static func isText(_ field: JobOrder.Field) -> Bool {
    switch field {
    case .jobType, .project, .subject: true
    case .createTime, .updateTime, .duration, .status: false
    }
  }

  // MARK: - The event log

  public func snapshot(filter: JobFilter) async throws -> (revision: Int64, jobs: [Job]) {
    try await read(consistent: true) { tx in
      var query = SQLBuilder("SELECT body FROM job")
      query.append(Self.whereClause(for: filter, into: &query, extra: []))
      query.append(" ORDER BY create_time, id")
      let jobs = try await tx.rows(query.query, as: String.self).map(JobCoding.decodeJob)
      return (try await Self.latestRevision(tx), jobs)
    }
  }

  public func jobCounts() async throws -> (revision: Int64, counts: [JobCount]) {
    try await read(consistent: true) { tx in
      let rows = try await tx.rows(
        "SELECT project, status, n FROM job_count WHERE n > 0 ORDER BY project, status",
        as: (String, String, Int64).self)
      let counts = try rows.map { project, status, count in
        JobCount(project: project, status: try JobCoding.status(status), count: Int(count))
      }
      return (try await Self.latestRevision(tx), counts)
    }
  }

  public func compactedThrough() async throws -> Int64 {
    try await read { tx in try await Self.compactedThrough(tx) }
  }

  static func compactedThrough(_ tx: SQLConnection) async throws -> Int64 {
    guard let data = try await tx.value("SELECT value FROM setting WHERE name = 'compacted_through'", as: Data.self)
    else { return 0 }
    return Int64(String(decoding: data, as: UTF8.self)) ?? 0
  }

  public func compactEvents(keepLast: Int, before: Date, batchSize: Int) async throws -> Int {
    var removed = 0
    while true {
      // Compaction does not take the revision lock: it removes only events below the
      // newest, which no writer touches.
      let count = try await write { tx -> Int in
        let latest = try await Self.latestRevision(tx)
        let byCount = latest - Int64(max(keepLast, 1))
        let byAge =
          try await tx.value(
            "SELECT MAX(revision) FROM job_event WHERE time < \(JobCoding.millis(before))", as: Int64?.self) ?? nil
        // Everything at or below `limit` goes, but never the newest event.
        let limit = min(max(byCount, byAge ?? 0), latest - 1)
        guard limit > 0 else { return 0 }
        let ids = try await tx.rows(
          "SELECT revision FROM job_event WHERE revision <= \(limit) ORDER BY revision LIMIT \(Int64(batchSize))",
          as: Int64.self)
        guard let last = ids.last else { return 0 }
        try await tx.execute("DELETE FROM job_event WHERE revision <= \(last)")
        let through = max(last, try await Self.compactedThrough(tx))
        try await tx.execute(
          """
          INSERT INTO setting (name, value) VALUES ('compacted_through', \(Data(String(through).utf8)))
          ON CONFLICT (name) DO UPDATE SET value = excluded.value
          """)
        return ids.count
      }
      removed += count
      if count < batchSize { return removed }
    }
  }

  public func expireResponses(before: Date, batchSize: Int) async throws -> Int {
    var removed = 0
    while true {
      let count = try await write { tx -> Int in
        try await tx.rows(
          """
          DELETE FROM request WHERE id IN
            (SELECT id FROM request WHERE create_time < \(JobCoding.millis(before)) ORDER BY create_time
             LIMIT \(Int64(batchSize)))
          RETURNING id
          """, as: String.self
        ).count
      }
      removed += count
      if count < batchSize { return removed }
    }
  }

  // MARK: - Retention

  public func deleteJobs(statuses: Set<JobStatus>, updatedBefore: Date, limit: Int, now: Date) async throws -> [String] {
    guard !statuses.isEmpty, limit > 0 else { return [] }
    return try await jobWrite { tx, revisions in
      let bodies = try await tx.rows(
        """
        SELECT body FROM job
        WHERE status = ANY(\(statuses.map(\.rawValue).sorted())) AND update_time < \(JobCoding.millis(updatedBefore))
        ORDER BY update_time, id LIMIT \(Int64(limit))
        """, as: String.self)
      var deleted: [String] = []
      for body in bodies {
        let job = try JobCoding.decodeJob(body)
        try await self.deleteJob(tx, job, revision: revisions.next(), previousStatus: job.status, now: now)
        deleted.append(job.id)
      }
      return deleted
    }
  }

  public func existingJobIDs(among ids: [String]) async throws -> Set<String> {
    guard !ids.isEmpty else { return [] }
    return try await read { tx in
      Set(try await tx.rows("SELECT id FROM job WHERE id = ANY(\(ids))", as: String.self))
    }
  }
}
