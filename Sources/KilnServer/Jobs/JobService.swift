import KilnWire
public import GRPCCore
public import Foundation
import SwiftProtobuf
import KilnCore
public import KilnEngine
public import KilnWatch
public import KilnProto
public import Logging

/// The `kiln.v1.JobService` RPCs: translates between protobuf and the engine's
/// domain calls. It holds no business rules; ``CallOutcomeInterceptor`` maps its errors
/// and audits its mutations.
public struct JobService: Kiln_V1_JobService.SimpleServiceProtocol {
  private let engine: JobEngine
  private let watcher: JobWatcher
  private let pageTokens: PageTokenCodec
  private let audit: AuditTrail
  private let logger: Logger

  /// Creates the service.
  /// - Parameter pageTokenSecret: Signs page tokens; keep it across restarts so tokens stay valid.
  public init(engine: JobEngine, watcher: JobWatcher, pageTokenSecret: Data, audit: AuditTrail, logger: Logger) {
    self.engine = engine
    self.watcher = watcher
    self.pageTokens = PageTokenCodec(secret: pageTokenSecret)
    self.audit = audit
    self.logger = logger
  }

  /// The most jobs one ListJobs page holds.
  public static let maxPageSize = 1000
  /// The page size when a request gives none.
  public static let defaultPageSize = 50

  public func submitJob(request: Kiln_V1_SubmitJobRequest, context: ServerContext) async throws
    -> Kiln_V1_SubmitJobResponse
  {
    let caller = try RequestContext.caller
    let key = try idempotencyKey("SubmitJob", request, \.requestID, caller)
    let job = try await engine.submit(
      .init(project: request.project, jobType: request.jobType, subject: request.subject, params: request.params),
      caller: caller, idempotency: key)
    AuditNote.current?.target = job.id
    return .with { $0.job = Kiln_V1_Job(job) }
  }

  public func getJob(request: Kiln_V1_GetJobRequest, context: ServerContext) async throws -> Kiln_V1_GetJobResponse {
    let job = try await engine.job(id: request.id, caller: try RequestContext.caller, withCallbacks: true)
    return .with { $0.job = Kiln_V1_Job(job) }
  }

  public func listJobs(request: Kiln_V1_ListJobsRequest, context: ServerContext) async throws
    -> Kiln_V1_ListJobsResponse
  {
    guard request.pageSize >= 0 else { throw KilnError.invalidArgument(field: "page_size", "is negative") }
    let pageSize = request.pageSize == 0 ? Self.defaultPageSize : min(Int(request.pageSize), Self.maxPageSize)
    let filter = try request.filter.domain(field: "filter")
    let order = try request.orderBy.domain(field: "order_by")
    let cursor = request.pageToken.isEmpty ? nil : try pageTokens.decode(request.pageToken, filter: filter, order: order)
    let page = try await engine.listJobs(
      filter: filter, order: order, pageSize: pageSize, after: cursor, caller: try RequestContext.caller)
    let now = Date()
    return try .with {
      $0.jobs = page.jobs.map { Kiln_V1_Job($0, now: now) }
      $0.totalSize = Int64(page.totalCount)
      $0.revision = page.revision
      if let next = page.next { $0.nextPageToken = try pageTokens.encode(next, filter: filter, order: order) }
    }
  }

  public func pauseJob(request: Kiln_V1_PauseJobRequest, context: ServerContext) async throws
    -> Kiln_V1_PauseJobResponse
  {
    let job = try await operate(.pause, "PauseJob", request)
    return .with { $0.job = job }
  }

  public func resumeJob(request: Kiln_V1_ResumeJobRequest, context: ServerContext) async throws
    -> Kiln_V1_ResumeJobResponse
  {
    let job = try await operate(.resume, "ResumeJob", request)
    return .with { $0.job = job }
  }

  public func restartJob(request: Kiln_V1_RestartJobRequest, context: ServerContext) async throws
    -> Kiln_V1_RestartJobResponse
  {
    let job = try await operate(.restart, "RestartJob", request)
    return .with { $0.job = job }
  }

  public func discardJob(request: Kiln_V1_DiscardJobRequest, context: ServerContext) async throws
    -> Kiln_V1_DiscardJobResponse
  {
    let job = try await operate(.discard, "DiscardJob", request)
    return .with { $0.job = job }
  }

  public func deleteJob(request: Kiln_V1_DeleteJobRequest, context: ServerContext) async throws
    -> Kiln_V1_DeleteJobResponse
  {
    _ = try await operate(.delete, "DeleteJob", request)
    return Kiln_V1_DeleteJobResponse()
  }

  public func batchJobs(request: Kiln_V1_BatchJobsRequest, context: ServerContext) async throws
    -> Kiln_V1_BatchJobsResponse
  {
    let action = try request.action.domain(field: "action")
    let selection: JobEngine.BatchSelection
    switch request.selector {
    case .ids(let ids): selection = .ids(ids.ids)
    case .filter(let filter): selection = .filter(try filter.domain(field: "filter"))
    case nil: throw KilnError.invalidArgument(field: "selector", "give either ids or filter")
    }
    let key = try idempotencyKey("BatchJobs", request, \.requestID, try RequestContext.caller)
    let outcome = try await engine.batch(action, selection: selection, idempotency: key, caller: try RequestContext.caller)
    AuditNote.current?.project = Set(outcome.items.compactMap { $0.job?.project }).sorted().joined(separator: ",")
    return Kiln_V1_BatchJobsResponse(outcome)
  }

  public func listJobTypes(request: Kiln_V1_ListJobTypesRequest, context: ServerContext) async throws
    -> Kiln_V1_ListJobTypesResponse
  {
    .with { $0.jobTypes = engine.jobTypes.map(Kiln_V1_JobType.init) }
  }

  /// The number of log bytes one GetStepLog returns when the request gives no limit.
  public static let defaultLogChunk = 64 * 1024
  /// The largest number of log bytes one GetStepLog returns.
  public static let maxLogChunk = 4 * 1024 * 1024

  public func getStepLog(request: Kiln_V1_GetStepLogRequest, context: ServerContext) async throws
    -> Kiln_V1_GetStepLogResponse
  {
    try InputLimits.checkID(request.jobID, field: "job_id")
    try InputLimits.checkID(request.stepID, field: "step_id")
    guard request.limit >= 0 else { throw KilnError.invalidArgument(field: "limit", "is negative") }
    let limit = request.limit == 0 ? Self.defaultLogChunk : min(Int(request.limit), Self.maxLogChunk)
    let chunk = try await engine.readStepLog(
      jobID: request.jobID, step: request.stepID, offset: request.offset, limit: limit, caller: try RequestContext.caller)
    return .with {
      $0.data = chunk.data
      $0.nextOffset = chunk.nextOffset
      $0.complete = chunk.complete
    }
  }

  // MARK: - Streams

  public func watchJobs(
    request: Kiln_V1_WatchJobsRequest, response: RPCWriter<Kiln_V1_WatchJobsResponse>, context: ServerContext
  ) async throws {
    let filter = try RequestContext.caller.scope(try request.filter.domain(field: "filter"))
    let watch = WatchRequest(
      filter: filter, sinceRevision: request.hasSinceRevision ? request.sinceRevision : nil,
      includeProgress: request.includeProgress)
    try await cancellingOnRPCCancellation {
      try await watcher.watch(watch) { message in try await Self.write(Kiln_V1_WatchJobsResponse(message), to: response) }
    }
  }

  /// Writes a stream message; a failed write means the client has gone away, which
  /// ends the call like a cancellation rather than an internal error.
  private static func write<M: Sendable>(_ message: M, to response: RPCWriter<M>) async throws {
    do {
      try await response.write(message)
    } catch {
      throw CancellationError()
    }
  }

  public func watchJob(
    request: Kiln_V1_WatchJobRequest, response: RPCWriter<Kiln_V1_WatchJobsResponse>, context: ServerContext
  ) async throws {
    try InputLimits.checkID(request.id, field: "id")
    var filter = try RequestContext.caller.scope(JobFilter())
    filter.ids = [request.id]
    let watch = WatchRequest(
      filter: filter, sinceRevision: request.hasSinceRevision ? request.sinceRevision : nil,
      includeProgress: request.includeProgress, endWhenFinal: true)
    try await cancellingOnRPCCancellation {
      try await watcher.watch(watch) { message in try await Self.write(Kiln_V1_WatchJobsResponse(message), to: response) }
    }
  }

  public func followStepLog(
    request: Kiln_V1_FollowStepLogRequest, response: RPCWriter<Kiln_V1_FollowStepLogResponse>, context: ServerContext
  ) async throws {
    try InputLimits.checkID(request.jobID, field: "job_id")
    try InputLimits.checkID(request.stepID, field: "step_id")
    try await cancellingOnRPCCancellation {
      try await watcher.followStepLog(
        jobID: request.jobID, step: request.stepID, offset: request.offset, caller: try RequestContext.caller
      ) { data, next in
        try await Self.write(
          Kiln_V1_FollowStepLogResponse.with {
            $0.data = data
            $0.nextOffset = next
          }, to: response)
      }
    }
  }

  // MARK: - Helpers

  /// The one body of the five single-job operations: deduplicated by request id, refused
  /// unless the job is at the expected revision when one is given; it names the job's
  /// project to the audit trail.
  /// - Returns: The job after the operation; an empty job after a delete.
  private func operate<Request: JobOperationRequest>(
    _ action: JobAction, _ method: String, _ request: Request
  ) async throws -> Kiln_V1_Job {
    try InputLimits.checkID(request.id, field: "id")
    let caller = try RequestContext.caller
    let key = try idempotencyKey(method, request, \.requestID, caller)
    let job = try await engine.perform(
      action, jobID: request.id, expectedRevision: request.expectedRevisionIfSet, idempotency: key, caller: caller)
    AuditNote.current?.project = job?.project ?? ""
    return job.map { Kiln_V1_Job($0) } ?? Kiln_V1_Job()
  }

  private func idempotencyKey<M: RequestWithID>(
    _ method: String, _ request: M, _ requestIDPath: WritableKeyPath<M, String>, _ caller: Caller
  ) throws -> IdempotencyKey? {
    var content = request
    content[keyPath: requestIDPath] = ""
    return try RequestFingerprint.key(method: method, requestID: request[keyPath: requestIDPath], request: content, caller: caller)
  }
}
