public import Foundation
public import KilnCore
import KilnStore
import Logging

extension JobEngine {
  /// Which jobs a batch acts on.
  public enum BatchSelection: Sendable, Hashable {
    /// These jobs, in this order (duplicates are acted on once).
    case ids([String])
    /// Every job that matches the filter when the batch starts ("select all").
    case filter(JobFilter)
  }

  /// The outcome of a batch for one job.
  public struct BatchItem: Sendable, Hashable, Codable {
    /// The job's id.
    public var id: String
    /// Whether the action was applied.
    public var ok: Bool
    /// The job after the action; `nil` after a delete or a refusal.
    public var job: Job?
    /// Why the action was refused.
    public var error: KilnError?

    /// Creates an item.
    public init(id: String, ok: Bool, job: Job?, error: KilnError?) {
      self.id = id
      self.ok = ok
      self.job = job
      self.error = error
    }
  }

  /// The outcome of a batch.
  public struct BatchOutcome: Sendable, Hashable, Codable {
    /// One item per selected job, in selection order.
    public var items: [BatchItem]
    /// How many jobs the action was applied to.
    public var succeeded: Int { items.filter(\.ok).count }
    /// How many jobs refused the action.
    public var failed: Int { items.count - succeeded }

    /// Creates an outcome.
    public init(items: [BatchItem]) {
      self.items = items
    }
  }

  /// Applies `action` to every selected job. Each job's change is all or nothing;
  /// one job's refusal does not stop the others.
  ///
  /// A filter selects only jobs of projects the caller may operate; a listed job the
  /// caller may not see fails as not found, one they only view as permission denied.
  /// - Throws: ``KilnError`` (invalid argument) for an empty or oversized selection.
  public func batch(
    _ action: JobAction, selection: BatchSelection, idempotency: IdempotencyKey? = nil, caller: Caller
  ) async throws -> BatchOutcome {
    if let idempotency, let stored = try await store.storedResponse(for: idempotency) {
      // The first answer, without the jobs the caller can no longer see.
      var outcome = try JSONDecoder.kiln.decode(BatchOutcome.self, from: stored)
      for index in outcome.items.indices {
        if let project = outcome.items[index].job?.project, !caller.canView(project) {
          let id = outcome.items[index].id
          outcome.items[index] = BatchItem(id: id, ok: false, job: nil, error: .jobNotFound(id))
        }
      }
      return outcome
    }
    let ids: [String]
    switch selection {
    case .ids(let given):
      guard !given.isEmpty else { throw KilnError.invalidArgument(field: "ids", "is empty") }
      var seen = Set<String>()
      ids = given.filter { seen.insert($0).inserted }
      guard ids.count <= configuration.maxBatchSize else {
        throw KilnError.invalidArgument(field: "ids", "more than \(configuration.maxBatchSize) ids")
      }
      for (index, id) in ids.enumerated() { try InputLimits.checkID(id, field: "ids[\(index)]") }
    case .filter(let filter):
      ids = try await store.jobIDs(matching: caller.scope(filter, operating: true).normalized, limit: configuration.maxBatchSize + 1)
      guard ids.count <= configuration.maxBatchSize else {
        throw KilnError.invalidArgument(
          field: "filter", "selects more than \(configuration.maxBatchSize) jobs; narrow it")
      }
    }
    var items: [BatchItem] = []
    items.reserveCapacity(ids.count)
    for id in ids {
      do {
        let job = try await perform(action, jobID: id, caller: caller)
        items.append(BatchItem(id: id, ok: true, job: job, error: nil))
      } catch let error as KilnError {
        items.append(BatchItem(id: id, ok: false, job: nil, error: error))
      }
    }
    let outcome = BatchOutcome(items: items)
    if let idempotency {
      try await store.storeResponse(try JSONEncoder.kiln.encode(outcome), for: idempotency, now: .kilnNow())
    }
    logger.info("batch \(action.verb)", metadata: ["succeeded": "\(outcome.succeeded)", "failed": "\(outcome.failed)"])
    return outcome
  }
}

extension KilnError: Codable {
  enum CodingKeys: String, CodingKey { case code, message }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let name = try c.decode(String.self, forKey: .code)
    self.init(code: Code(description: name) ?? .internalError, message: try c.decode(String.self, forKey: .message))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(code.description, forKey: .code)
    try c.encode(message, forKey: .message)
  }
}

extension JSONEncoder {
  static var kiln: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .millisecondsSince1970
    return encoder
  }
}

extension JSONDecoder {
  static var kiln: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .millisecondsSince1970
    return decoder
  }
}
