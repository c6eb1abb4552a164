/// An error Kiln reports to its users.
///
/// The code decides how the error crosses the wire (the server maps each code
/// to a gRPC status); the message is for people and names the field, the
/// status or the job involved.
public struct KilnError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The kind of error.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    fileprivate enum Wrapped: String, Sendable, Hashable {
      case invalidArgument = "invalid argument"
      case notFound = "not found"
      case alreadyExists = "already exists"
      case failedPrecondition = "failed precondition"
      case aborted = "aborted"
      case outOfRange = "out of range"
      case permissionDenied = "permission denied"
      case unauthenticated = "unauthenticated"
      case resourceExhausted = "resource exhausted"
      case unavailable = "unavailable"
      case deadlineExceeded = "deadline exceeded"
      case cancelled = "cancelled"
      case internalError = "internal error"
    }

    fileprivate let wrapped: Wrapped

    fileprivate init(wrapped: Wrapped) {
      self.wrapped = wrapped
    }

    /// A field of the request is missing or malformed.
    public static let invalidArgument = Code(wrapped: .invalidArgument)
    /// The job (or step, or type) does not exist.
    public static let notFound = Code(wrapped: .notFound)
    /// The thing to create exists already.
    public static let alreadyExists = Code(wrapped: .alreadyExists)
    /// The operation is not allowed in the job's current status.
    public static let failedPrecondition = Code(wrapped: .failedPrecondition)
    /// The job changed since the revision the caller expected.
    public static let aborted = Code(wrapped: .aborted)
    /// A revision or offset lies outside what is kept.
    public static let outOfRange = Code(wrapped: .outOfRange)
    /// The caller may not do this.
    public static let permissionDenied = Code(wrapped: .permissionDenied)
    /// The caller is not identified.
    public static let unauthenticated = Code(wrapped: .unauthenticated)
    /// A limit was reached.
    public static let resourceExhausted = Code(wrapped: .resourceExhausted)
    /// The service cannot serve the call now; retrying later may succeed.
    public static let unavailable = Code(wrapped: .unavailable)
    /// The call did not complete within its deadline.
    public static let deadlineExceeded = Code(wrapped: .deadlineExceeded)
    /// The call was cancelled (by the caller, or because its client went away).
    public static let cancelled = Code(wrapped: .cancelled)
    /// A bug or an unexpected failure (the message says which).
    public static let internalError = Code(wrapped: .internalError)

    public var description: String { wrapped.rawValue }

    /// Parses a code from its ``description``.
    public init?(description: String) {
      guard let wrapped = Wrapped(rawValue: description) else { return nil }
      self.wrapped = wrapped
    }

    /// The gRPC status number of this code: the numbering the wire, batch results and
    /// the audit trail's stored rows share (gRPC's, fixed by its spec).
    public var grpcStatus: Int {
      switch wrapped {
      case .cancelled: 1
      case .invalidArgument: 3
      case .deadlineExceeded: 4
      case .notFound: 5
      case .alreadyExists: 6
      case .permissionDenied: 7
      case .resourceExhausted: 8
      case .failedPrecondition: 9
      case .aborted: 10
      case .outOfRange: 11
      case .internalError: 13
      case .unavailable: 14
      case .unauthenticated: 16
      }
    }

    /// The code of a gRPC status number; every number Kiln does not use (2, 12, 15,
    /// and 0, which is no error) is an internal error.
    public init(grpcStatus: Int) {
      let all: [Wrapped] = [
        .cancelled, .invalidArgument, .deadlineExceeded, .notFound, .alreadyExists, .permissionDenied,
        .resourceExhausted, .failedPrecondition, .aborted, .outOfRange, .internalError, .unavailable, .unauthenticated,
      ]
      self.wrapped = all.first { Code(wrapped: $0).grpcStatus == grpcStatus } ?? .internalError
    }
  }

  /// The kind of error.
  public var code: Code
  /// What went wrong, for people.
  public var message: String
  /// Facts a program can act on, e.g. `kiln-last-revision` to resume a watch at;
  /// the server sends them as trailing metadata.
  public var details: [String: String]

  /// Creates an error.
  ///
  /// The message and the details' values are cut to ``InputLimits/maxMessageBytes`` and
  /// ``InputLimits/maxDetailBytes``: whatever a message quotes, it never repeats a
  /// client's oversized input in full.
  public init(code: Code, message: String, details: [String: String] = [:]) {
    self.code = code
    self.message = message.bounded(toBytes: InputLimits.maxMessageBytes)
    self.details = details.mapValues { $0.bounded(toBytes: InputLimits.maxDetailBytes) }
  }

  public var description: String { "\(code): \(message)" }
}

extension KilnError {
  /// A field of a request is missing or malformed.
  public static func invalidArgument(field: String, _ problem: String) -> KilnError {
    // The field path can quote a client's key (`params.KEY`): bounded, the same in both.
    let field = field.bounded(toBytes: 128)
    return KilnError(code: .invalidArgument, message: "\(field): \(problem)", details: [DetailKey.field: field])
  }

  /// No job with this id exists (for the caller).
  public static func jobNotFound(_ id: String) -> KilnError {
    KilnError(code: .notFound, message: "job \(InputLimits.quoted(id)) not found")
  }

  /// No project with this name exists (for the caller).
  public static func projectNotFound(_ name: String) -> KilnError {
    KilnError(code: .notFound, message: "project \(InputLimits.quoted(name)) not found")
  }

  /// Disabling `name` would leave the server without an enabled ADMIN.
  public static func lastEnabledAdmin(_ name: String) -> KilnError {
    KilnError(
      code: .failedPrecondition, message: "\(InputLimits.quoted(name)) is the last enabled ADMIN; create another ADMIN first")
  }

  /// The job's status does not allow the operation.
  public static func operationNotAllowed(_ action: JobAction, status: JobStatus, jobID: String) -> KilnError {
    let allowed = JobTransitions.allowedActions(for: status).map(\.verb)
    let list = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
    return KilnError(
      code: .failedPrecondition,
      message: "cannot \(action.verb) job \(jobID): its status is \(status.rawValue), which allows: \(list)",
      details: [
        DetailKey.jobStatus: status.rawValue,
        DetailKey.allowedActions: JobTransitions.allowedActions(for: status).map(\.rawValue).joined(separator: ","),
      ]
    )
  }

  /// The subject's version is not the one the caller expected.
  public static func versionMismatch(subject: String, expected: Int64, actual: Int64) -> KilnError {
    KilnError(
      code: .aborted, message: "subject \(subject) is at version \(actual), not the expected version \(expected)",
      details: [DetailKey.subjectVersion: String(actual)])
  }

  /// The job's revision is not the one the caller expected.
  public static func revisionMismatch(jobID: String, expected: Int64, actual: Int64) -> KilnError {
    KilnError(
      code: .aborted,
      message: "job \(jobID) is at revision \(actual), not the expected revision \(expected)",
      details: [DetailKey.jobRevision: String(actual)]
    )
  }
}

/// The names of ``KilnError/details`` entries, sent as gRPC trailing metadata.
public enum DetailKey {
  /// The request field an INVALID_ARGUMENT is about, e.g. `params.table`.
  public static let field = "kiln-field"
  /// The job's status when an operation was refused (FAILED_PRECONDITION).
  public static let jobStatus = "kiln-job-status"
  /// The operations the job's status allows, comma-separated (FAILED_PRECONDITION).
  public static let allowedActions = "kiln-allowed-actions"
  /// The job's current revision (ABORTED).
  public static let jobRevision = "kiln-job-revision"
  /// The subject's current version (ABORTED).
  public static let subjectVersion = "kiln-subject-version"
  /// The revision a watch can resume after (RESOURCE_EXHAUSTED, UNAVAILABLE).
  public static let lastRevision = "kiln-last-revision"
  /// The oldest event the log keeps (OUT_OF_RANGE).
  public static let oldestRevision = "kiln-oldest-revision"
}
