import Foundation
import KilnCore
import KilnProto
import KilnWire
import KilnServer
import SwiftProtobuf

/// ListJobs (and WatchJobs, BatchJobs) request validation: `Kiln_V1_JobFilter.domain(field:)`,
/// `Kiln_V1_JobOrder.domain(field:)`, `JobFilter.normalized`.
///
/// Inputs: requests built field by field with extreme values (empty strings, unknown
/// enum values, timestamps and nanos at and past protobuf's limits, long and huge repeated
/// fields), the same requests serialized and mutated byte by byte then parsed by
/// SwiftProtobuf, and random bytes.
///
/// Properties: nothing traps; a filter is accepted exactly when it has none of the problems
/// computed independently here (an empty project or job type, an unknown status, a timestamp
/// outside years 1–9999 or nanos outside 0–999,999,999, `create_time_from` after
/// `create_time_to`); a refusal is INVALID_ARGUMENT naming one of those fields, its message
/// at most 2,048 bytes; an accepted filter carries the request's values, its times lie in
/// years 1–9999 and in order, its normalized form is idempotent and selects the same jobs; an
/// order is refused exactly when its field is unknown; a page token issued for the converted
/// request is accepted when the same request comes again.
package struct JobFilterFuzz: FuzzCase {
  package let name = "job-filter"
  package let summary = "ListJobsRequest filter and order conversion, JobFilter.normalized"

  private let mutator = ByteMutator(dictionary: [
    "\u{0A}", "\u{12}", "\u{1A}", "\u{08}", "\u{10}", "\u{18}", "\u{22}", "\u{2A}", "\u{32}", "\u{3A}", "\u{00}",
    "\u{7F}", "\u{0A}\u{00}", "\u{12}\u{02}\u{08}\u{08}", "\u{10}\u{FF}\u{FF}\u{FF}\u{FF}\u{0F}",
  ])
  private let pageTokens = PageTokenCodec(secret: Data(repeating: 0x5A, count: 32))

  package init() {}

  package func run(using random: inout FuzzRandom) -> FuzzOutcome {
    let request = Self.randomRequest(using: &random)
    switch random.below(4) {
    case 0, 1:
      return check(request, input: "\(request)")
    case 2:
      guard let bytes: [UInt8] = try? request.serializedBytes() else {
        return .failed(FuzzFailure("a generated request does not serialize", input: "\(request)"))
      }
      return checkBytes(mutator.mutate(bytes, using: &random))
    default:
      return checkBytes((0..<random.smallCount(max: 200)).map { _ in UInt8.random(in: 0...255, using: &random) })
    }
  }

  private func checkBytes(_ bytes: [UInt8]) -> FuzzOutcome {
    guard let request = try? Kiln_V1_ListJobsRequest(serializedBytes: bytes) else {
      return .refused(kind: "not a ListJobsRequest (SwiftProtobuf)")
    }
    return check(request, input: bytes.fuzzDescription)
  }

  func check(_ request: Kiln_V1_ListJobsRequest, input: @autoclosure () -> String) -> FuzzOutcome {
    func failure(_ property: String) -> FuzzOutcome { .failed(FuzzFailure(property, input: input())) }
    let expected = Self.filterProblems(request.filter, field: "filter")
    let filter: JobFilter
    do throws(KilnError) {
      filter = try request.filter.domain(field: "filter")
      if !expected.certain.isEmpty {
        return failure("accepted a filter with problems at \(expected.certain.sorted()): \(filter)")
      }
    } catch {
      let allowed = expected.certain.union(expected.possible)
      return refusalProblem(error, fieldPrefix: "filter.", allowedFields: allowed).map(failure)
        ?? .refused(kind: "invalid argument (filter)")
    }
    if let problem = Self.acceptedFilterProblem(filter, from: request.filter) { return failure(problem) }

    let order: JobOrder
    do throws(KilnError) {
      order = try request.orderBy.domain(field: "order_by")
      if case .UNRECOGNIZED = request.orderBy.field { return failure("accepted the unknown order field \(request.orderBy.field)") }
      let expectedField: [Kiln_V1_JobOrderField: JobOrder.Field] = [
        .unspecified: .createTime, .createTime: .createTime, .updateTime: .updateTime, .duration: .duration,
        .status: .status, .jobType: .jobType, .project: .project, .subject: .subject,
      ]
      guard order.field == expectedField[request.orderBy.field], order.ascending == request.orderBy.ascending else {
        return failure("order \(request.orderBy) became \(order)")
      }
    } catch {
      guard case .UNRECOGNIZED = request.orderBy.field else { return failure("refused the known order \(request.orderBy): \(error)") }
      return refusalProblem(error, fieldPrefix: "order_by", allowedFields: ["order_by.field"]).map(failure)
        ?? .refused(kind: "invalid argument (order_by)")
    }

    // The same request again must be the same query: its page tokens stay valid.
    do {
      let cursor = JobPageCursor(lastValue: .integer(1), lastID: "j")
      let token = try pageTokens.encode(cursor, filter: filter, order: order)
      let again = try request.filter.domain(field: "filter")
      guard try pageTokens.decode(token, filter: again, order: try request.orderBy.domain(field: "order_by")) == cursor else {
        return failure("a page token for this request decodes to another cursor")
      }
    } catch {
      return failure("a page token for this request is refused when it comes again: \(error)")
    }
    return .accepted
  }

  // MARK: - The rules, independently

  private static let minimumSeconds: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
  private static let maximumSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

  private static func isValid(_ time: Google_Protobuf_Timestamp) -> Bool {
    time.seconds >= minimumSeconds && time.seconds <= maximumSeconds && time.nanos >= 0 && time.nanos < 1_000_000_000
  }

  /// The fields a filter must be refused for (`certain`), and those it may be refused for
  /// (`possible`: `from` after `to` by less than a millisecond, where `Date`'s precision
  /// decides).
  static func filterProblems(_ filter: Kiln_V1_JobFilter, field: String) -> (certain: Set<String>, possible: Set<String>) {
    var certain: Set<String> = []
    var possible: Set<String> = []
    for (index, project) in filter.projects.enumerated() where project.isEmpty { certain.insert("\(field).projects[\(index)]") }
    for (index, status) in filter.statuses.enumerated() where !(1...6).contains(status.rawValue) {
      certain.insert("\(field).statuses[\(index)]")
    }
    for (index, type) in filter.jobTypes.enumerated() where type.isEmpty { certain.insert("\(field).job_types[\(index)]") }
    if filter.hasCreateTimeFrom, !isValid(filter.createTimeFrom) { certain.insert("\(field).create_time_from") }
    if filter.hasCreateTimeTo, !isValid(filter.createTimeTo) { certain.insert("\(field).create_time_to") }
    if filter.hasCreateTimeFrom, filter.hasCreateTimeTo, isValid(filter.createTimeFrom), isValid(filter.createTimeTo) {
      let from = filter.createTimeFrom
      let to = filter.createTimeTo
      let after = Double(from.seconds - to.seconds) + Double(from.nanos - to.nanos) / 1e9
      if after > 0.001 {
        certain.insert("\(field).create_time_from")
      } else if after > 0 {
        possible.insert("\(field).create_time_from")
      }
    }
    return (certain, possible)
  }

  private static func acceptedFilterProblem(_ filter: JobFilter, from wire: Kiln_V1_JobFilter) -> String? {
    guard filter.projects == wire.projects, filter.jobTypes == wire.jobTypes,
      filter.statuses.map(\.rawValue) == wire.statuses.map(statusName),
      filter.subject == (wire.subject.isEmpty ? nil : wire.subject), filter.key == (wire.key.isEmpty ? nil : wire.key),
      filter.ids.isEmpty, filter.allowedProjects == nil
    else { return "the filter does not carry the request's values: \(filter)" }
    for (has, time, date, name) in [
      (wire.hasCreateTimeFrom, wire.createTimeFrom, filter.createdFrom, "from"),
      (wire.hasCreateTimeTo, wire.createTimeTo, filter.createdTo, "to"),
    ] {
      guard has else {
        if date != nil { return "created \(name) is set, but the request has none" }
        continue
      }
      guard let date else { return "created \(name) is missing" }
      let seconds = date.timeIntervalSince1970
      guard seconds >= Double(minimumSeconds), seconds < Double(maximumSeconds + 1) else {
        return "created \(name) \(date) (\(seconds) s) is outside years 1–9999"
      }
      let exact = Double(time.seconds) + Double(time.nanos) / 1e9
      guard abs(seconds - exact) <= 0.001 else { return "created \(name) is \(seconds) s, not \(exact) s" }
    }
    if let from = filter.createdFrom, let to = filter.createdTo, from > to { return "accepted from \(from) after to \(to)" }

    let normalized = filter.normalized
    guard normalized.normalized == normalized else { return "normalized is not idempotent: \(normalized)" }
    guard Set(normalized.projects) == Set(filter.projects), Set(normalized.statuses) == Set(filter.statuses),
      Set(normalized.jobTypes) == Set(filter.jobTypes), normalized.projects.count == Set(filter.projects).count
    else { return "normalized changed the values: \(normalized)" }
    for job in sampleJobs(for: filter) where normalized.matches(job) != filter.matches(job) {
      return "normalized selects differently for job \(job.id) (\(job.project), \(job.status), \(job.jobType), \(job.subject))"
    }
    return nil
  }

  private static func statusName(_ status: Kiln_V1_JobStatus) -> String {
    switch status {
    case .pending: "PENDING"
    case .running: "RUNNING"
    case .paused: "PAUSED"
    case .error: "ERROR"
    case .discarded: "DISCARDED"
    case .finished: "FINISHED"
    case .unspecified, .UNRECOGNIZED: "?"
    }
  }

  /// Jobs made of the filter's own values, so that some match and some do not.
  private static func sampleJobs(for filter: JobFilter) -> [Job] {
    let time = filter.createdFrom ?? filter.createdTo ?? Date(timeIntervalSince1970: 0)
    return JobStatus.allCases.enumerated().map { index, status in
      Job(
        id: "job-\(index)-\(filter.key ?? "")", project: filter.projects.last ?? "p", jobType: filter.jobTypes.first ?? "T",
        subject: index.isMultiple(of: 2) ? (filter.subject ?? "s") : "other", status: status, submitter: "u",
        createTime: index.isMultiple(of: 3) ? time : time.addingTimeInterval(1), updateTime: time)
    }
  }

  // MARK: - Generation

  static func randomTimestamp(using random: inout FuzzRandom) -> Google_Protobuf_Timestamp {
    var time = Google_Protobuf_Timestamp()
    time.seconds = random.chance(1, in: 2)
      ? random.extremeInt64() : Int64.random(in: minimumSeconds...maximumSeconds, using: &random)
    time.nanos = random.chance(1, in: 2) ? random.extremeInt32() : Int32.random(in: 0..<1_000_000_000, using: &random)
    return time
  }

  private static func randomNames(using random: inout FuzzRandom) -> [String] {
    if random.chance(1, in: 200) { return (0..<random.int(in: 1_000...20_000)).map { "p\($0)" } }
    return (0..<random.smallCount(max: 8)).map { _ in
      random.chance(2, in: 3) ? random.pick(["p1", "p2", "INDEX_BUILD", ""]) : FuzzText.string(using: &random)
    }
  }

  static func randomFilter(using random: inout FuzzRandom) -> Kiln_V1_JobFilter {
    var filter = Kiln_V1_JobFilter()
    filter.projects = randomNames(using: &random)
    filter.statuses = (0..<random.smallCount(max: 10)).map { _ in
      Kiln_V1_JobStatus(rawValue: random.chance(4, in: 5) ? random.int(in: 0...7) : Int(random.extremeInt32())) ?? .unspecified
    }
    filter.jobTypes = randomNames(using: &random)
    if random.chance(1, in: 2) { filter.subject = FuzzText.string(using: &random) }
    if random.chance(1, in: 2) { filter.key = FuzzText.string(using: &random) }
    if random.chance(1, in: 2) { filter.createTimeFrom = randomTimestamp(using: &random) }
    if random.chance(1, in: 2) {
      filter.createTimeTo = random.chance(1, in: 4) && filter.hasCreateTimeFrom ? filter.createTimeFrom : randomTimestamp(using: &random)
      if random.chance(1, in: 4) { filter.createTimeTo.nanos &+= Int32(random.int(in: -2...2)) }
    }
    return filter
  }

  static func randomRequest(using random: inout FuzzRandom) -> Kiln_V1_ListJobsRequest {
    var request = Kiln_V1_ListJobsRequest()
    if random.chance(7, in: 8) { request.filter = randomFilter(using: &random) }
    if random.chance(1, in: 2) {
      request.orderBy.field =
        Kiln_V1_JobOrderField(rawValue: random.chance(4, in: 5) ? random.int(in: 0...8) : Int(random.extremeInt32())) ?? .unspecified
      request.orderBy.ascending = random.chance(1, in: 2)
    }
    request.pageSize = random.extremeInt32()
    if random.chance(1, in: 4) { request.pageToken = FuzzText.string(using: &random) }
    return request
  }

  /// A filter as `Kiln_V1_JobFilter.domain(field:)` makes them (no empty names, known
  /// statuses, times in range), for the page-token case.
  static func randomDomainFilter(using random: inout FuzzRandom) -> JobFilter {
    var wire = randomFilter(using: &random)
    wire.projects.removeAll { $0.isEmpty }
    wire.jobTypes.removeAll { $0.isEmpty }
    wire.statuses.removeAll { !(1...6).contains($0.rawValue) }
    if wire.hasCreateTimeFrom, !isValid(wire.createTimeFrom) { wire.clearCreateTimeFrom() }
    if wire.hasCreateTimeTo, !isValid(wire.createTimeTo) { wire.clearCreateTimeTo() }
    if wire.projects.count > 50 { wire.projects.removeLast(wire.projects.count - 50) }
    let problems = filterProblems(wire, field: "filter")
    if !problems.certain.isEmpty || !problems.possible.isEmpty { wire.clearCreateTimeTo() }
    return (try? wire.domain(field: "filter")) ?? JobFilter()
  }
}
