public import KilnCore
import GRDB

extension SQLiteJobStore {
  public func listJobs(filter: JobFilter, order: JobOrder, limit: Int, after cursor: JobPageCursor?) async throws
    -> JobPage
  {
    try await writer.read { db in
      let (whereSQL, whereArguments) = Self.whereClause(for: filter)
      // By project and status only: the kept counts (the same WHERE fits both tables).
      let counted = filter.selectsByProjectAndStatusOnly ? "SELECT COALESCE(SUM(n), 0) FROM job_count" : "SELECT COUNT(*) FROM job"
      let total = try Int.fetchOne(db, sql: "\(counted) \(whereSQL)", arguments: whereArguments) ?? 0

      let column = JobCoding.column(for: order.field)
      let direction = order.ascending ? "ASC" : "DESC"
      let comparison = order.ascending ? ">" : "<"
      var conditions = whereSQL
      var arguments = whereArguments
      if let cursor {
        let value: any DatabaseValueConvertible =
          switch cursor.lastValue {
          case .integer(let i): i
          case .text(let t): t
          }
        let keyset = "(\(column) \(comparison) ? OR (\(column) = ? AND id \(comparison) ?))"
        conditions += conditions.isEmpty ? "WHERE \(keyset)" : " AND \(keyset)"
        _ = arguments.append(contentsOf: [value, value, cursor.lastID])
      }
      _ = arguments.append(contentsOf: [limit + 1])
      let rows = try Row.fetchAll(
        db,
        sql: "SELECT \(column) AS sort_value, body FROM job \(conditions) ORDER BY \(column) \(direction), id \(direction) LIMIT ?",
        arguments: arguments)
      var jobs = try rows.prefix(limit).map { try JobCoding.decodeJob($0["body"]) }
      var next: JobPageCursor?
      if rows.count > limit, let last = rows.prefix(limit).last {
        let dbValue: DatabaseValue = last["sort_value"]
        let value: JobSortValue =
          switch dbValue.storage {
          case .int64(let i): .integer(i)
          case .string(let s): .text(s)
          default: .text("")
          }
        next = JobPageCursor(lastValue: value, lastID: jobs[jobs.count - 1].id)
      }
      if jobs.count > limit { jobs.removeLast(jobs.count - limit) }
      // Read in the same transaction (one WAL snapshot) as the page.
      return JobPage(jobs: jobs, next: next, totalCount: total, revision: try Self.latestRevision(db))
    }
  }

  public func jobIDs(matching filter: JobFilter, limit: Int) async throws -> [String] {
    try await writer.read { db in
      let (whereSQL, arguments) = Self.whereClause(for: filter)
      var all = arguments
      _ = all.append(contentsOf: [limit])
      return try String.fetchAll(
        db, sql: "SELECT id FROM job \(whereSQL) ORDER BY create_time, id LIMIT ?", arguments: all)
    }
  }

  /// The SQL form of ``JobFilter/matches(_:)``; the two must agree (a test checks it).
  static func whereClause(for filter: JobFilter) -> (String, StatementArguments) {
    var clauses: [String] = []
    var arguments = StatementArguments()
    func inList(_ column: String, _ values: [String]) {
      guard !values.isEmpty else { return }
      clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
      _ = arguments.append(contentsOf: StatementArguments(values))
    }
    inList("id", filter.ids)
    inList("project", filter.projects)
    if let allowed = filter.allowedProjects {
      if allowed.isEmpty { clauses.append("0") } else { inList("project", allowed.sorted()) }
    }
    inList("status", filter.statuses.map(\.rawValue))
    inList("job_type", filter.jobTypes)
    if let subject = filter.subject {
      clauses.append("subject = ?")
      _ = arguments.append(contentsOf: [subject])
    }
    if let key = filter.key, !key.isEmpty {
      clauses.append("(instr(lower(id), ?) > 0 OR instr(lower(subject), ?) > 0)")
      _ = arguments.append(contentsOf: [key.lowercased(), key.lowercased()])
    }
    if let from = filter.createdFrom {
      clauses.append("create_time >= ?")
      _ = arguments.append(contentsOf: [JobCoding.millis(from)])
    }
    if let to = filter.createdTo {
      clauses.append("create_time < ?")
      _ = arguments.append(contentsOf: [JobCoding.millis(to)])
    }
    return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), arguments)
  }

}
