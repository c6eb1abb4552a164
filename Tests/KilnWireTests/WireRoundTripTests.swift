import Foundation
import GRPCCore
import KilnCore
import KilnProto
import KilnWire
import SwiftProtobuf
import Testing

/// Every domain value survives domain → wire → domain unchanged, and every wire value
/// this build does not know is refused with an error naming it, never guessed.
@Suite("The wire mapping round-trips every message and enum value")
struct WireRoundTripTests {
  /// A date on a whole millisecond, as the store keeps them.
  static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

  @Test("every job status and action, both ways; unspecified and unknown values are refused, naming the field")
  func enums() throws {
    for status in JobStatus.allCases {
      #expect(status.wire.domain == status)
      #expect(try JobStatus(wire: status.wire) == status)
      #expect(try status.wire.domain(field: "f") == status)
    }
    for action in JobAction.allCases {
      #expect(action.wire.domain == action)
      #expect(try action.wire.domain(field: "f") == action)
    }
    for role in ProjectRole.allCases { #expect(role.wire.domain == role) }
    #expect(Kiln_V1_JobStatus.unspecified.domain == nil && Kiln_V1_JobStatus.UNRECOGNIZED(42).domain == nil)
    #expect(Kiln_V1_JobAction.unspecified.domain == nil && Kiln_V1_JobAction.UNRECOGNIZED(42).domain == nil)
    #expect(Kiln_V1_Role.UNRECOGNIZED(42).domain == nil)

    let unknownStatus = #expect(throws: KilnError.self) { try Kiln_V1_JobStatus.UNRECOGNIZED(42).domain(field: "filter.statuses[0]") }
    #expect(unknownStatus?.code == .invalidArgument && unknownStatus?.details[DetailKey.field] == "filter.statuses[0]")
    #expect(unknownStatus?.message.contains("unknown status 42") == true)
    let unspecified = #expect(throws: KilnError.self) { try Kiln_V1_JobAction.unspecified.domain(field: "action") }
    #expect(unspecified?.code == .invalidArgument && unspecified?.message.contains("action is unspecified") == true)
    // In a reply, an unknown status means the server is newer than this client.
    let newer = #expect(throws: KilnError.self) { try JobStatus(wire: .UNRECOGNIZED(42)) }
    #expect(newer?.code == .internalError && newer?.message.contains("upgrade the client") == true)
  }

  @Test("every error code, to a gRPC status and its number and back")
  func errorCodes() {
    let codes: [KilnError.Code] = [
      .cancelled, .invalidArgument, .deadlineExceeded, .notFound, .alreadyExists, .permissionDenied, .resourceExhausted,
      .failedPrecondition, .aborted, .outOfRange, .internalError, .unavailable, .unauthenticated,
    ]
    for code in codes {
      #expect(KilnError.Code(RPCError.Code(code)) == code)
      #expect(KilnError.Code(grpcStatus: code.grpcStatus) == code)
      #expect(RPCError.Code(code).rawValue == code.grpcStatus, "the numbers are gRPC's own")
    }
    // Statuses Kiln never sends read as internal errors.
    #expect(KilnError.Code(RPCError.Code.dataLoss) == .internalError)
    #expect(KilnError.Code(grpcStatus: 99) == .internalError)
  }

  @Test("every order field in both directions; an unknown field is refused naming order.field")
  func orders() throws {
    for field in JobOrder.Field.allCases {
      for ascending in [true, false] {
        let order = JobOrder(field: field, ascending: ascending)
        #expect(try order.wire.domain(field: "order") == order)
      }
    }
    #expect(try Kiln_V1_JobOrder().domain(field: "order") == JobOrder(field: .createTime, ascending: false))
    var unknown = Kiln_V1_JobOrder()
    unknown.field = .UNRECOGNIZED(42)
    let error = #expect(throws: KilnError.self) { try unknown.domain(field: "order") }
    #expect(error?.details[DetailKey.field] == "order.field")
  }

  @Test("a filter with every field set, and an empty one, round-trip")
  func filters() throws {
    let full = JobFilter(
      projects: ["p1", "p2"], statuses: JobStatus.allCases, jobTypes: ["INDEX_BUILD"], subject: "orders", key: "sales",
      createdFrom: Self.date(1_700_000_000_123), createdTo: Self.date(1_700_000_999_456))
    #expect(try full.wire.domain(field: "filter") == full)
    #expect(try JobFilter().wire.domain(field: "filter") == JobFilter())
  }

  @Test("a job with every field set, with its steps and callback deliveries, round-trips")
  func jobs() throws {
    let id = "0b7c6c1e-job"
    let steps = [
      Step(name: "A", index: 0, status: .finished, progress: 100, startTime: Self.date(1_700_000_001_000),
        endTime: Self.date(1_700_000_002_500), retries: 2),
      Step(name: "B", index: 1, status: .error, progress: 40, startTime: Self.date(1_700_000_002_600),
        endTime: Self.date(1_700_000_003_000), errorMessage: "exit status 3"),
      Step(name: "C", index: 2),
    ]
    let deliveries = [
      CallbackDelivery(
        id: 7, jobID: id, url: "http://127.0.0.1:9/hook", jobStatus: .error, revision: 41, createTime: Self.date(1_700_000_003_000),
        attempts: 3, lastAttemptTime: Self.date(1_700_000_004_000), lastResult: "HTTP 500", lastStatusCode: 500,
        delivered: false, nextAttemptTime: Self.date(1_700_000_010_000)),
      CallbackDelivery(id: 8, jobID: id, url: "http://127.0.0.1:9/other", jobStatus: .error, revision: 41,
        createTime: Self.date(1_700_000_003_000), attempts: 1, lastAttemptTime: Self.date(1_700_000_003_100),
        lastResult: "HTTP 204", lastStatusCode: 204, delivered: true),
    ]
    let job = Job(
      id: id, project: "sales", jobType: "INDEX_BUILD", subject: "orders", subjectVersion: 3, status: .error, progress: 47,
      steps: steps, submitter: "ops", createTime: Self.date(1_700_000_000_000), startTime: Self.date(1_700_000_001_000),
      endTime: Self.date(1_700_000_003_000), updateTime: Self.date(1_700_000_003_000), waitMillis: 1000, durationMillis: 2000,
      attempt: 2, errorMessage: "step B failed: exit status 3", statusReason: "", revision: 41,
      params: ["table": "orders", "sleep_ms": "10"], callbackDeliveries: deliveries)
    let wire = Kiln_V1_Job(job, now: Self.date(1_700_000_100_000))
    #expect(wire.allowedActions == job.allowedActions.map(\.wire))
    #expect(wire.steps.map(\.id) == ["\(id)-0", "\(id)-1", "\(id)-2"])
    var expected = job
    expected.statusReason = nil  // empty on the wire reads as none
    #expect(try Job(wire: wire) == expected)
    // Serialized and parsed too, as it travels.
    #expect(try Job(wire: Kiln_V1_Job(serializedBytes: try wire.serializedBytes() as [UInt8])) == expected)
    // A minimal job: optional times and texts stay absent.
    let minimal = Job(
      id: "j", project: "p", jobType: "T", subject: "s", submitter: "u", createTime: Self.date(1_700_000_000_000),
      updateTime: Self.date(1_700_000_000_000))
    #expect(try Job(wire: Kiln_V1_Job(minimal, now: Self.date(1_700_000_000_000))) == minimal)
  }

  @Test("projects, users, tokens, audit events and subjects round-trip")
  func accessAndSubjects() {
    let project = Project(name: "sales", description: "the sales team", createTime: Self.date(1_700_000_000_000), creator: "admin",
      callbackURL: "http://127.0.0.1:9/h")
    #expect(Kiln_V1_Project(project).domain == project)
    let user = User(name: "ops", isAdmin: false, isDisabled: true, createTime: Self.date(1_700_000_000_000),
      roles: ["sales": .operator, "hr": .viewer])
    #expect(Kiln_V1_User(user).domain == user)
    let token = AccessToken(id: "t1", user: "ops", description: "ci", createTime: Self.date(1_700_000_000_000),
      expireTime: Self.date(1_700_003_600_000), revokeTime: Self.date(1_700_000_100_000))
    #expect(Kiln_V1_Token(token).domain == token)
    let event = AuditEvent(id: 12, time: Self.date(1_700_000_000_000), actor: "ops", tokenID: "t1", method: "kiln.v1.JobService/PauseJob",
      targetKind: "job", target: "j1", project: "sales", code: 9, message: "cannot pause", peer: "127.0.0.1:5000")
    #expect(Kiln_V1_AuditEvent(event).domain == event)
    let subject = Subject(project: "sales", name: "orders", kind: "table", schema: "id INT", attributes: ["owner": "bi"],
      version: 4, createTime: Self.date(1_700_000_000_000), updateTime: Self.date(1_700_000_050_000), creator: "ops")
    #expect(Kiln_V1_Subject(subject).domain == subject)
  }
}
