import Synchronization
public import Foundation
public import KilnCore

/// How jobs and times are written to a database: the same JSON and milliseconds in
/// every store, so a job reads the same from SQLite and PostgreSQL.
package enum JobCoding {
  private static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .millisecondsSince1970
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()

  private static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .millisecondsSince1970
    return decoder
  }()

  package static func encodeJob(_ job: Job) throws -> String {
    // Callback deliveries live in their own table; a job read for its detail may carry
    // them, but they are never part of the stored job or its events.
    var job = job
    job.callbackDeliveries = nil
    return String(decoding: try encoder.encode(job), as: UTF8.self)
  }

  package static func decodeJob(_ text: String) throws -> Job {
    if let job = decodedJobs.job(for: text) { return job }
    let job = try decoder.decode(Job.self, from: Data(text.utf8))
    decodedJobs.keep(job, for: text)
    return job
  }

  /// Jobs decoded lately, by their stored text: a job is read far more often than it
  /// changes (every GetJob, every ListJobs page, every watch snapshot), and Foundation's
  /// JSONDecoder was the largest single cost of a GetJob on the server (≈8%, perf).
  private static let decodedJobs = DecodedJobCache(slots: 1024)

  package static func encodeOptionalJob(_ job: Job?) throws -> Data {
    var job = job
    job?.callbackDeliveries = nil
    return try encoder.encode(job)
  }

  package static func decodeOptionalJob(_ data: Data) throws -> Job? {
    try decoder.decode(Job?.self, from: data)
  }

  package static func millis(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1000).rounded())
  }

  package static func date(millis: Int64) -> Date {
    Date(timeIntervalSince1970: Double(millis) / 1000)
  }

  /// Sorting by status follows the order of the statuses in the API.
  /// The status stored as `text` in a status column.
  ///
  /// - Throws: ``KilnError`` (internal) when the column holds no status: a damaged database.
  package static func status(_ text: String) throws -> JobStatus {
    guard let status = JobStatus(rawValue: text) else {
      throw KilnError(code: .internalError, message: "the store holds a job status it does not know: \(text)")
    }
    return status
  }

  package static func statusRank(_ status: JobStatus) -> Int {
    switch status {
    case .pending: 1
    case .running: 2
    case .paused: 3
    case .error: 4
    case .discarded: 5
    case .finished: 6
    }
  }

  /// The job table's column a listing sorts by; the same in every store.
  package static func column(for field: JobOrder.Field) -> String {
    switch field {
    case .createTime: "create_time"
    case .updateTime: "update_time"
    case .duration: "duration_ms"
    case .status: "status_rank"
    case .jobType: "job_type"
    case .project: "project"
    case .subject: "subject"
    }
  }
}

/// A fixed number of decoded jobs, each in the slot its stored text hashes to (a newer
/// text takes the slot). The text is compared in full on a hit, so a job that changed
/// is decoded again; memory stays bounded by the slot count (≈ a few MB).
final class DecodedJobCache: Sendable {
  private struct Entry {
    let text: String
    let job: Job
  }
  private let entries: Mutex<[Entry?]>
  private let count: Int

  init(slots count: Int) {
    self.count = count
    entries = Mutex(Array(repeating: nil, count: count))
  }

  private func slot(for text: String) -> Int {
    var hasher = Hasher()
    hasher.combine(text)
    return Int(UInt(bitPattern: hasher.finalize()) % UInt(count))
  }

  func job(for text: String) -> Job? {
    let slot = slot(for: text)
    // Copied out under the lock, compared outside it.
    guard let entry = entries.withLock({ $0[slot] }), entry.text == text else { return nil }
    return entry.job
  }

  func keep(_ job: Job, for text: String) {
    let slot = slot(for: text)
    entries.withLock { $0[slot] = Entry(text: text, job: job) }
  }
}
