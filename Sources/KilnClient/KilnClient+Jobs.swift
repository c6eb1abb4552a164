public import Foundation
public import KilnCore
import GRPCCore
import KilnProto
import KilnWire
import SwiftProtobuf

extension KilnClient {
  /// Runs one call with the retry policy: UNAVAILABLE is retried with backoff, anything
  /// else is thrown at once as a ``KilnError``.
  func call<T: Sendable>(_ body: () async throws -> T) async throws(KilnError) -> T {
    var attempt = 1
    while true {
      do {
        return try await body()
      } catch {
        let failure = explained(KilnError.from(error))
        guard failure.code == .unavailable, attempt < configuration.retry.maxAttempts else { throw failure }
        do {
          try await Task.sleep(for: configuration.retry.backoff(forRetry: attempt))
        } catch {
          throw KilnError(code: .cancelled, message: "the call was cancelled while waiting to retry")
        }
        attempt += 1
      }
    }
  }

  /// Adds the likely cause to a failure whose message alone would puzzle: a plaintext
  /// client whose connection a TLS server closes during the HTTP/2 preface.
  func explained(_ error: KilnError) -> KilnError {
    guard error.code == .unavailable, configuration.tls == nil, error.message.contains("preface") else { return error }
    var explained = error
    explained.message +=
      " If the server serves TLS (kilnd --tls-cert), connect over TLS: give its CA file (--ca-file or KILN_CA_FILE)."
    return explained
  }

  /// A new request id for one logical mutation (kept across its retries).
  static func newRequestID() -> String { UUID().uuidString.lowercased() }

  // MARK: - Jobs

  /// Submits a job; it starts when the scheduler has a free slot.
  ///
  /// - Parameters:
  ///   - requestID: Makes the submission idempotent; a fresh one is made if `nil`.
  /// - Returns: The new job, PENDING.
  /// - Throws: ``KilnError``: invalid argument (``KilnError/field`` names the field).
  public func submitJob(
    project: String, type: String, subject: String, params: [String: String] = [:], requestID: String? = nil
  ) async throws(KilnError) -> Job {
    let request = Kiln_V1_SubmitJobRequest.with {
      $0.project = project
      $0.jobType = type
      $0.subject = subject
      $0.params = params
      $0.requestID = requestID ?? Self.newRequestID()
    }
    let response = try await call {
      try await jobService.submitJob(request, metadata: metadata, options: callOptions())
    }
    return try Job(wire: response.job)
  }

  /// The job with this id, with its steps.
  /// - Throws: ``KilnError``: not found.
  public func job(_ id: String) async throws(KilnError) -> Job {
    let response = try await call {
      try await jobService.getJob(.with { $0.id = id }, metadata: metadata, options: callOptions())
    }
    return try Job(wire: response.job)
  }

  /// One page of the jobs that match `filter`.
  ///
  /// - Parameters:
  ///   - pageSize: 0 for the server's default (50); at most 1000.
  ///   - pageToken: From the previous page, with the same filter and order.
  public func listJobs(
    filter: JobFilter = JobFilter(), order: JobOrder = JobOrder(), pageSize: Int = 0, pageToken: String? = nil
  ) async throws(KilnError) -> JobPage {
    let request = Kiln_V1_ListJobsRequest.with {
      $0.filter = filter.wire
      $0.orderBy = order.wire
      $0.pageSize = Int32(clamping: pageSize)
      $0.pageToken = pageToken ?? ""
    }
    let response = try await call {
      try await jobService.listJobs(request, metadata: metadata, options: callOptions())
    }
    var jobs: [Job] = []
    for job in response.jobs { jobs.append(try Job(wire: job)) }
    return JobPage(
      jobs: jobs, nextPageToken: response.nextPageToken.isEmpty ? nil : response.nextPageToken,
      totalSize: Int(response.totalSize), revision: response.revision)
  }

  /// Every job that matches `filter`, fetched a page at a time as the sequence is read.
  public func allJobs(filter: JobFilter = JobFilter(), order: JobOrder = JobOrder(), pageSize: Int = 200) -> JobSequence {
    JobSequence(client: self, filter: filter, order: order, pageSize: pageSize)
  }

  /// Pauses a job: its running step is stopped and its slot freed.
  /// - Parameter expectedRevision: Refuse (aborted) unless the job is at this revision.
  /// - Throws: ``KilnError``: not found; failed precondition (``KilnError/jobStatus``,
  ///   ``KilnError/allowedActions``); aborted.
  @discardableResult
  public func pause(_ id: String, expectedRevision: Int64? = nil, requestID: String? = nil) async throws(KilnError) -> Job {
    try await perform(.pause, onJob: id, expectedRevision: expectedRevision, requestID: requestID)!
  }

  /// Resumes a PAUSED or ERROR job: it continues at its first unfinished step.
  @discardableResult
  public func resume(_ id: String, expectedRevision: Int64? = nil, requestID: String? = nil) async throws(KilnError) -> Job {
    try await perform(.resume, onJob: id, expectedRevision: expectedRevision, requestID: requestID)!
  }

  /// Restarts a job from its first step, as a new attempt with the same id.
  @discardableResult
  public func restart(_ id: String, expectedRevision: Int64? = nil, requestID: String? = nil) async throws(KilnError) -> Job {
    try await perform(.restart, onJob: id, expectedRevision: expectedRevision, requestID: requestID)!
  }

  /// Discards a job for good.
  @discardableResult
  public func discard(_ id: String, expectedRevision: Int64? = nil, requestID: String? = nil) async throws(KilnError) -> Job {
    try await perform(.discard, onJob: id, expectedRevision: expectedRevision, requestID: requestID)!
  }

  /// Deletes a FINISHED or DISCARDED job and its logs.
  public func delete(_ id: String, expectedRevision: Int64? = nil, requestID: String? = nil) async throws(KilnError) {
    _ = try await perform(.delete, onJob: id, expectedRevision: expectedRevision, requestID: requestID)
  }

  /// Applies `action` to one job: the operation chosen at run time, as a console's
  /// menu or the shell does.
  ///
  /// - Parameters:
  ///   - expectedRevision: Refuse (failed precondition) unless the job is still at this revision.
  ///   - requestID: The request id the server deduplicates by; a new one when `nil`,
  ///     reused by every retry of this call.
  /// - Returns: The job after the operation, or `nil` after a delete.
  public func perform(
    _ action: JobAction, onJob id: String, expectedRevision: Int64? = nil, requestID: String? = nil
  ) async throws(KilnError) -> Job? {
    // One request id for the logical call, reused by every retry.
    let requestID = requestID ?? Self.newRequestID()
    func request<R: JobOperationRequest>(_: R.Type) -> R {
      var request = R()
      request.id = id
      request.requestID = requestID
      if let expectedRevision { request.expectedRevision = expectedRevision }
      return request
    }
    let (metadata, options, service) = (self.metadata, callOptions(), jobService)
    let job: Kiln_V1_Job? = try await call {
      switch action {
      case .pause: try await service.pauseJob(request(Kiln_V1_PauseJobRequest.self), metadata: metadata, options: options).job
      case .resume: try await service.resumeJob(request(Kiln_V1_ResumeJobRequest.self), metadata: metadata, options: options).job
      case .restart:
        try await service.restartJob(request(Kiln_V1_RestartJobRequest.self), metadata: metadata, options: options).job
      case .discard:
        try await service.discardJob(request(Kiln_V1_DiscardJobRequest.self), metadata: metadata, options: options).job
      case .delete:
        try await {
          _ = try await service.deleteJob(request(Kiln_V1_DeleteJobRequest.self), metadata: metadata, options: options)
          return nil
        }()
      }
    }
    return try job.map { (wire) throws(KilnError) in try Job(wire: wire) }
  }

  /// Applies `action` to each of these jobs; one job's refusal does not stop the others.
  public func batch(_ action: JobAction, ids: [String], requestID: String? = nil) async throws(KilnError) -> BatchOutcome {
    try await batch(action, requestID) { $0.ids = .with { $0.ids = ids } }
  }

  /// Applies `action` to every job matching `filter` ("select all"; every project the
  /// caller sees when it names none).
  public func batch(_ action: JobAction, matching filter: JobFilter, requestID: String? = nil) async throws(KilnError)
    -> BatchOutcome
  {
    try await batch(action, requestID) { $0.filter = filter.wire }
  }

  private func batch(
    _ action: JobAction, _ requestID: String?, select: (inout Kiln_V1_BatchJobsRequest) -> Void
  ) async throws(KilnError) -> BatchOutcome {
    var request = Kiln_V1_BatchJobsRequest()
    request.action = action.wire
    request.requestID = requestID ?? Self.newRequestID()
    select(&request)
    let sent = request
    let response = try await call {
      try await jobService.batchJobs(sent, metadata: metadata, options: callOptions())
    }
    var items: [BatchItem] = []
    for result in response.results {
      if result.ok {
        var job: Job?
        if case .job(let wire) = result.outcome { job = try Job(wire: wire) }
        items.append(BatchItem(id: result.id, result: .success(job)))
      } else {
        let error = KilnError(code: KilnError.Code(grpcStatus: Int(result.error.code)), message: result.error.message)
        items.append(BatchItem(id: result.id, result: .failure(error)))
      }
    }
    return BatchOutcome(items: items, succeeded: Int(response.succeeded), failed: Int(response.failed))
  }

  /// The job types the server offers.
  public func jobTypes() async throws(KilnError) -> [JobTypeInfo] {
    let response = try await call {
      try await jobService.listJobTypes(.init(), metadata: metadata, options: callOptions())
    }
    return response.jobTypes.map { type in
      JobTypeInfo(
        name: type.name, description: type.description_p,
        steps: type.steps.map { .init(name: $0.name, kind: $0.kind, maxRetries: Int($0.maxRetries)) },
        params: type.params.map {
          .init(
            name: $0.name, required: $0.required, defaultValue: $0.defaultValue.isEmpty ? nil : $0.defaultValue,
            description: $0.description_p)
        }, callbackURL: type.callbackURL.isEmpty ? nil : type.callbackURL)
    }
  }

  /// Reads a chunk of a step's log.
  ///
  /// - Parameters:
  ///   - step: The step's id, index or name.
  ///   - limit: 0 for the server's default (64 KiB).
  public func stepLog(jobID: String, step: String, offset: Int64 = 0, limit: Int = 0) async throws(KilnError)
    -> StepLogChunk
  {
    let response = try await call {
      try await jobService.getStepLog(
        .with {
          $0.jobID = jobID
          $0.stepID = step
          $0.offset = offset
          $0.limit = Int32(clamping: limit)
        }, metadata: metadata, options: callOptions())
    }
    return StepLogChunk(data: response.data, nextOffset: response.nextOffset, complete: response.complete)
  }
}

/// Every job that matches a filter, one page request at a time as it is read.
public struct JobSequence: AsyncSequence, Sendable {
  public typealias Element = Job
  let client: KilnClient
  let filter: JobFilter
  let order: JobOrder
  let pageSize: Int

  public func makeAsyncIterator() -> Iterator {
    Iterator(sequence: self)
  }

  /// Walks the pages.
  public struct Iterator: AsyncIteratorProtocol {
    let sequence: JobSequence
    var buffer: [Job] = []
    var token: String?
    var finished = false

    init(sequence: JobSequence) {
      self.sequence = sequence
    }

    public mutating func next() async throws -> Job? {
      while buffer.isEmpty {
        if finished { return nil }
        let page = try await sequence.client.listJobs(
          filter: sequence.filter, order: sequence.order, pageSize: sequence.pageSize, pageToken: token)
        buffer = page.jobs.reversed()
        token = page.nextPageToken
        finished = token == nil
      }
      return buffer.popLast()
    }
  }
}
