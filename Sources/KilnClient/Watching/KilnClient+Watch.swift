public import Foundation
public import KilnCore
import AsyncAlgorithms
import GRPCCore
import KilnProto
import KilnWire
import Synchronization

extension KilnClient {
  /// Watches the jobs that match `filter`, surviving disconnects.
  ///
  /// The sequence starts with a ``WatchEvent/snapshot(jobs:revision:)`` (or, with `since`,
  /// the changes after that revision), then every change as it happens. When the
  /// connection drops, the server restarts, or the watch falls behind
  /// (UNAVAILABLE, RESOURCE_EXHAUSTED), it reconnects with backoff and resumes after
  /// the last revision it delivered: no change is lost or repeated. When the server no
  /// longer has that revision (OUT_OF_RANGE), it takes a fresh snapshot and delivers it
  /// as ``WatchEvent/resynchronized(jobs:revision:)``. Other errors end the sequence
  /// with a ``KilnError``. Stop reading to stop watching.
  ///
  /// - Parameters:
  ///   - includeProgress: Also deliver progress-only changes (coalesced by the server).
  ///   - since: Resume after this revision instead of starting with a snapshot.
  public func watchJobs(filter: JobFilter = JobFilter(), includeProgress: Bool = false, since: Int64? = nil)
    -> ProducedSequence<WatchEvent>
  {
    let client = self
    return ProducedSequence { channel in
      await client.runWatch(filter: filter, jobID: nil, includeProgress: includeProgress, since: since, into: channel)
    }
  }

  /// Watches one job until it is FINISHED, DISCARDED or deleted, surviving disconnects
  /// like ``watchJobs(filter:includeProgress:since:)``. The sequence starts with a
  /// snapshot holding the job, and ends by itself.
  public func watchJob(_ id: String, includeProgress: Bool = false) -> ProducedSequence<WatchEvent> {
    let client = self
    return ProducedSequence { channel in
      await client.runWatch(filter: JobFilter(), jobID: id, includeProgress: includeProgress, since: nil, into: channel)
    }
  }

  /// Waits until the job is FINISHED or DISCARDED (or ERROR, when `orError` is set),
  /// and returns it. The watch underneath reconnects after a dropped connection.
  ///
  /// - Parameters:
  ///   - orError: Also return when the job reaches ERROR (resumable, so not final).
  ///   - timeout: How long to wait at most; `nil` waits as long as it takes.
  /// - Throws: ``KilnError``: not found; deadline exceeded (naming the job and its last
  ///   status) when `timeout` passes first; or whatever ended the watch.
  public func waitForJob(_ id: String, orError: Bool = true, timeout: Duration? = nil) async throws(KilnError) -> Job {
    guard let timeout else { return try await waitForJobUntilDone(id, orError: orError) }
    let latest = LatestJob()
    do {
      return try await withThrowingTaskGroup(of: Job?.self) { group in
        group.addTask { try await self.waitForJobUntilDone(id, orError: orError, seen: latest) }
        group.addTask {
          try await Task.sleep(for: timeout)
          return nil
        }
        defer { group.cancelAll() }
        guard let job = try await group.next() ?? nil else {
          let status = latest.job.map { "its status is still \($0.status.rawValue)" } ?? "it was not seen yet"
          throw KilnError(code: .deadlineExceeded, message: "job \(id) did not end within \(timeout): \(status)")
        }
        return job
      }
    } catch {
      throw KilnError.from(error)
    }
  }

  private func waitForJobUntilDone(_ id: String, orError: Bool, seen: LatestJob? = nil) async throws(KilnError) -> Job {
    var last: Job? {
      didSet { seen?.job = last }
    }
    do {
      for try await event in watchJob(id) {
        switch event {
        case .snapshot(let jobs, _), .resynchronized(let jobs, _):
          last = jobs.first { $0.id == id } ?? last
        case .created(let job, _), .updated(let job, _), .deleted(let job, _):
          last = job
        case .heartbeat:
          break
        }
        if let job = last, job.status.isFinal || (orError && job.status == .error) { return job }
      }
    } catch {
      throw KilnError.from(error)
    }
    guard let last else { throw KilnError.jobNotFound(id) }
    return last
  }

  /// A step's log from `offset`, then new bytes as they are written, until the step
  /// can no longer write to it. Reconnects after a dropped connection and goes on
  /// from the last byte delivered.
  public func followStepLog(jobID: String, step: String, offset: Int64 = 0) -> ProducedSequence<Data> {
    let client = self
    return ProducedSequence { channel in
      await client.runFollow(jobID: jobID, step: step, offset: offset, into: channel)
    }
  }

  // MARK: - Running the streams

  /// Where a watch is, kept across reconnections.
  private final class WatchPosition: Sendable {
    struct State {
      var since: Int64?
      var resynchronizing = false
      var failures = 0
    }

    let state: Mutex<State>

    init(since: Int64?) {
      state = Mutex(State(since: since))
    }
  }

  func runWatch(
    filter: JobFilter, jobID: String?, includeProgress: Bool, since: Int64?,
    into channel: AsyncThrowingChannel<WatchEvent, any Error>
  ) async {
    let position = WatchPosition(since: since)
    while !Task.isCancelled {
      do {
        let resume = position.state.withLock { $0.since }
        let ended: Bool = try await {
          let handle: @Sendable (StreamingClientResponse<Kiln_V1_WatchJobsResponse>) async throws -> Bool = {
            response in
            var snapshot: [Job] = []
            for try await message in response.messages {
              position.state.withLock { $0.failures = 0 }
              if let event = try Self.event(from: message, snapshot: &snapshot, position: position) {
                await channel.send(event)
              }
            }
            return true
          }
          if let jobID {
            var request = Kiln_V1_WatchJobRequest()
            request.id = jobID
            request.includeProgress = includeProgress
            if let resume { request.sinceRevision = resume }
            return try await jobService.watchJob(request, metadata: metadata, onResponse: handle)
          } else {
            var request = Kiln_V1_WatchJobsRequest()
            request.filter = filter.wire
            request.includeProgress = includeProgress
            if let resume { request.sinceRevision = resume }
            return try await jobService.watchJobs(request, metadata: metadata, onResponse: handle)
          }
        }()
        // A one-job watch ends by itself at a final status; a filter watch only ends
        // with an error, so an orderly end is treated like a dropped connection.
        if ended && jobID != nil { return }
      } catch {
        let failure = KilnError.from(error)
        if Task.isCancelled { return }
        switch failure.code {
        case .unavailable, .resourceExhausted, .deadlineExceeded, .cancelled:
          // The connection dropped, the server restarted or cancelled the call, or the
          // watch fell behind: reconnect and resume.
          break
        case .outOfRange:
          position.state.withLock {
            $0.since = nil
            $0.resynchronizing = true
          }
        default:
          channel.fail(failure)
          return
        }
      }
      let failures = position.state.withLock { state in
        state.failures += 1
        return state.failures
      }
      do {
        try await Task.sleep(for: configuration.retry.backoff(forRetry: failures))
      } catch {
        return
      }
    }
  }

  /// Turns one wire message into an event, gathering snapshot messages into one event.
  private static func event(
    from message: Kiln_V1_WatchJobsResponse, snapshot: inout [Job], position: WatchPosition
  ) throws(KilnError) -> WatchEvent? {
    let revision = message.revision
    let event: WatchEvent
    switch message.kind {
    case .snapshot:
      snapshot.append(try Job(wire: message.job))
      return nil
    case .snapshotEnd:
      let resynchronizing = position.state.withLock { $0.resynchronizing }
      event =
        resynchronizing
        ? .resynchronized(jobs: snapshot, revision: revision) : .snapshot(jobs: snapshot, revision: revision)
      snapshot = []
    case .created: event = .created(try Job(wire: message.job), revision: revision)
    case .updated: event = .updated(try Job(wire: message.job), revision: revision)
    case .deleted: event = .deleted(try Job(wire: message.job), revision: revision)
    case .heartbeat: event = .heartbeat(revision: revision)
    case .unspecified, .UNRECOGNIZED:
      return nil
    }
    position.state.withLock {
      $0.since = revision
      $0.resynchronizing = false
    }
    return event
  }

  func runFollow(jobID: String, step: String, offset: Int64, into channel: AsyncThrowingChannel<Data, any Error>) async {
    let position = Mutex<Int64>(offset)
    var failures = 0
    while !Task.isCancelled {
      do {
        var request = Kiln_V1_FollowStepLogRequest()
        request.jobID = jobID
        request.stepID = step
        request.offset = position.withLock { $0 }
        try await jobService.followStepLog(request, metadata: metadata) { response in
          for try await chunk in response.messages {
            await channel.send(chunk.data)
            position.withLock { $0 = chunk.nextOffset }
          }
        }
        return
      } catch {
        let failure = KilnError.from(error)
        guard failure.code == .unavailable, !Task.isCancelled else {
          if !Task.isCancelled { channel.fail(failure) }
          return
        }
      }
      failures += 1
      do {
        try await Task.sleep(for: configuration.retry.backoff(forRetry: failures))
      } catch {
        return
      }
    }
  }
}

/// The newest state of the job a timed ``KilnClient/waitForJob(_:orError:timeout:)``
/// has seen, for its timeout's message.
private final class LatestJob: Sendable {
  private let latest = Mutex<Job?>(nil)

  var job: Job? {
    get { latest.withLock { $0 } }
    set { latest.withLock { $0 = newValue } }
  }
}
