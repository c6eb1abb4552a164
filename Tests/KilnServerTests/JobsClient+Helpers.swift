import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnProto
import SwiftProtobuf
import KilnServer
import KilnTestSupport
import Logging
import Synchronization
import Testing

typealias JobsClient = Kiln_V1_JobService.Client<HTTP2ClientTransport.Posix>

/// Expects `body` to fail with `code`, and the message to mention `text`.
@discardableResult
func expectRPCError(
  _ code: RPCError.Code, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws -> Void
) async -> RPCError? {
  do {
    try await body()
    Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    return nil
  } catch let error as RPCError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(text), "message: \(error.message)", sourceLocation: sourceLocation)
    return error
  } catch {
    Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

extension JobsClient {
  func submit(
    project: String = "p1", type: String = "INDEX_BUILD", subject: String = "sales", params: [String: String] = ["sleep_ms": "20"],
    requestID: String = ""
  ) async throws -> Kiln_V1_Job {
    await ServerHarness.ensureSubject(subject, project: project)
    return try await submitJob(.with {
      $0.project = project
      $0.jobType = type
      $0.subject = subject
      $0.params = params
      $0.requestID = requestID
    }).job
  }

  func get(_ id: String) async throws -> Kiln_V1_Job {
    try await getJob(.with { $0.id = id }).job
  }

  /// Waits for the job to reach `status`, for at most `seconds`.
  func waitFor(_ id: String, _ status: Kiln_V1_JobStatus, seconds: Double = 60) async throws -> Bool {
    // A deadline, not an expectation of speed: the PostgreSQL pass runs every server
    // suite at once on two cores, where a 3-step job has taken more than 20 s.
    let deadline = Date().addingTimeInterval(seconds * testTimeFactor)
    while Date() < deadline {
      if try await get(id).status == status { return true }
      try await Task.sleep(for: .milliseconds(20))
    }
    return try await get(id).status == status
  }
}

extension JobsClient {
  /// Reads a watch until `stop` says so (the last message is included), for at most 30 s.
  func collect(
    _ request: Kiln_V1_WatchJobsRequest, until stop: @escaping @Sendable ([Kiln_V1_WatchJobsResponse]) -> Bool
  ) async throws -> [Kiln_V1_WatchJobsResponse] {
    var options = CallOptions.defaults
    // Generous: a loaded machine running the whole suite at once is slow; the tests
    // assert on what arrives, never on how fast.
    options.timeout = .seconds(60) * testTimeFactor
    return try await watchJobs(request, options: options) { response in
      var messages: [Kiln_V1_WatchJobsResponse] = []
      for try await message in response.messages {
        messages.append(message)
        if stop(messages) { break }
      }
      return messages
    }
  }

  /// Reads a WatchJob stream to its end, for at most 30 s.
  func collectJob(_ request: Kiln_V1_WatchJobRequest) async throws -> [Kiln_V1_WatchJobsResponse] {
    var options = CallOptions.defaults
    // Generous: a loaded machine running the whole suite at once is slow; the tests
    // assert on what arrives, never on how fast.
    options.timeout = .seconds(60) * testTimeFactor
    return try await watchJob(request, options: options) { response in
      var messages: [Kiln_V1_WatchJobsResponse] = []
      for try await message in response.messages { messages.append(message) }
      return messages
    }
  }
}

/// The revisions of change events, which must be strictly increasing.
func changeRevisions(_ messages: [Kiln_V1_WatchJobsResponse]) -> [Int64] {
  messages.filter { [.created, .updated, .deleted].contains($0.kind) }.map(\.revision)
}

/// The ids of the jobs that `messages` show finished.
func finishedIDs(_ messages: [Kiln_V1_WatchJobsResponse]) -> Set<String> {
  Set(messages.filter { $0.job.status == .finished }.map(\.job.id))
}

/// A value shared with `@Sendable` closures in tests.
final class LockedBox<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>
  init(_ value: Value) { mutex = Mutex(value) }
  func mutate(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
  var value: Value { mutex.withLock { $0 } }
}
