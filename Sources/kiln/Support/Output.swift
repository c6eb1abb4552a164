import Foundation
import KilnClient

/// Prints rows as columns aligned to their widest cell; `style` may decorate a padded
/// cell (colours) without upsetting the alignment.
func printTable(_ header: [String], _ rows: [[String]], style: ((_ row: Int, _ column: Int, _ cell: String) -> String)? = nil) {
  let all = [header] + rows
  var widths = Array(repeating: 0, count: header.count)
  for row in all {
    for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
  }
  for (r, row) in all.enumerated() {
    let cells = row.enumerated().map { i, cell in
      let padded = i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
      return r > 0 ? style?(r - 1, i, padded) ?? padded : padded
    }
    print(cells.joined(separator: "  "))
  }
}

/// A job as `-o json` prints it: the wire's field names, times in ISO 8601.
struct JobJSON: Encodable {
  struct CallbackJSON: Encodable {
    var id: Int64
    var url: String
    var job_status: String
    var attempts: Int
    var last_attempt_time: Date?
    var last_result: String?
    var delivered: Bool
    var next_attempt_time: Date?
  }

  struct StepJSON: Encodable {
    var id: String
    var name: String
    var index: Int
    var status: String
    var progress: Int
    var start_time: Date?
    var end_time: Date?
    var retries: Int
    var error_message: String?
  }

  var id: String
  var project: String
  var job_type: String
  var subject: String
  var subject_version: Int64
  var status: String
  var status_reason: String?
  var progress: Int
  var attempt: Int
  var submitter: String
  var create_time: Date
  var start_time: Date?
  var end_time: Date?
  var update_time: Date
  var wait_ms: Int64
  var duration_ms: Int64
  var error_message: String?
  var revision: Int64
  var params: [String: String]
  var allowed_actions: [String]
  var steps: [StepJSON]
  var callback_deliveries: [CallbackJSON]?

  init(_ job: Job) {
    id = job.id
    project = job.project
    job_type = job.jobType
    subject = job.subject
    subject_version = job.subjectVersion
    status = job.status.rawValue
    status_reason = job.statusReason
    progress = job.progress
    attempt = job.attempt
    submitter = job.submitter
    create_time = job.createTime
    start_time = job.startTime
    end_time = job.endTime
    update_time = job.updateTime
    wait_ms = job.waitMillis
    duration_ms = job.durationMillis
    error_message = job.errorMessage
    revision = job.revision
    params = job.params
    allowed_actions = job.allowedActions.map(\.rawValue)
    steps = job.steps.map {
      StepJSON(
        id: $0.id(jobID: job.id), name: $0.name, index: $0.index, status: $0.status.rawValue, progress: $0.progress,
        start_time: $0.startTime, end_time: $0.endTime, retries: $0.retries, error_message: $0.errorMessage)
    }
    callback_deliveries = job.callbackDeliveries?.map {
      CallbackJSON(
        id: $0.id, url: $0.url, job_status: $0.jobStatus.rawValue, attempts: $0.attempts,
        last_attempt_time: $0.lastAttemptTime, last_result: $0.lastResult, delivered: $0.delivered,
        next_attempt_time: $0.nextAttemptTime)
    }
  }
}

/// Prints one value as a line of JSON.
func printJSONLine(_ value: some Encodable) {
  let encoder = JSONEncoder()
  encoder.dateEncodingStrategy = .iso8601
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  guard let data = try? encoder.encode(value) else { return }
  print(String(decoding: data, as: UTF8.self))
}

/// `1.2s`, `3m04s`, `2h05m`.
func formatDuration(milliseconds: Int64) -> String {
  let seconds = milliseconds / 1000
  if seconds < 60 { return String(format: "%.1fs", Double(milliseconds) / 1000) }
  if seconds < 3600 { return String(format: "%dm%02ds", seconds / 60, seconds % 60) }
  return String(format: "%dh%02dm", seconds / 3600, (seconds % 3600) / 60)
}

/// A time as every table shows it: ISO 8601 in UTC, to the second.
func formatTime(_ date: Date) -> String {
  date.formatted(.iso8601)
}

/// The job-list table: the columns of Kylin's job monitor.
func printJobs(_ jobs: [Job]) {
  printTable(
    ["ID", "PROJECT", "TYPE", "SUBJECT", "STATUS", "PROGRESS", "CREATED", "DURATION"],
    jobs.map {
      [
        $0.id, $0.project, $0.jobType, $0.subject, $0.status.rawValue, "\($0.progress)%",
        formatTime($0.createTime), formatDuration(milliseconds: $0.durationMillis),
      ]
    }, style: { row, column, cell in column == 4 ? Style.status(jobs[row].status, cell) : cell })
}

/// One job in detail, with its steps.
func printJobDetail(_ job: Job) {
  printTable(
    ["FIELD", "VALUE"],
    [
      ["id", job.id], ["project", job.project], ["type", job.jobType], ["subject", job.subject],
      ["subject version", "v\(job.subjectVersion)"], ["status", job.status.rawValue],
      ["status reason", job.statusReason ?? "-"], ["progress", "\(job.progress)%"], ["attempt", String(job.attempt)],
      ["submitter", job.submitter], ["created", formatTime(job.createTime)],
      ["started", job.startTime.map(formatTime) ?? "-"],
      ["ended", job.endTime.map(formatTime) ?? "-"],
      ["waited", formatDuration(milliseconds: job.waitMillis)], ["ran", formatDuration(milliseconds: job.durationMillis)],
      ["revision", String(job.revision)], ["allowed", job.allowedActions.map(\.verb).joined(separator: ", ")],
      ["error", job.errorMessage ?? "-"],
      ["params", job.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")],
    ])
  print("")
  printTable(
    ["#", "STEP", "STATUS", "PROGRESS", "RETRIES", "ERROR"],
    job.steps.map {
      [String($0.index), $0.name, $0.status.rawValue, "\($0.progress)%", String($0.retries), $0.errorMessage ?? ""]
    })
  if let deliveries = job.callbackDeliveries, !deliveries.isEmpty {
    print("")
    printTable(
      ["CALLBACK", "ON", "ATTEMPTS", "LAST ATTEMPT", "LAST RESULT", "STATE"],
      deliveries.map { delivery in
        let state =
          delivery.delivered
          ? "delivered" : delivery.nextAttemptTime.map { "retry at \(formatTime($0))" } ?? "gave up"
        return [
          delivery.url, delivery.jobStatus.rawValue, String(delivery.attempts),
          delivery.lastAttemptTime.map(formatTime) ?? "-", delivery.lastResult ?? "-", state,
        ]
      })
  }
}

/// A job as printed by a command: a detail table, or one JSON object.
func printJob(_ job: Job, _ format: OutputFormat) {
  switch format {
  case .table: printJobDetail(job)
  case .json: printJSONLine(JobJSON(job))
  }
}
