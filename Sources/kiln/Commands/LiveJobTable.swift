import Foundation
import KilnClient

/// `kiln watch` on a terminal: the watched jobs as a table redrawn in place, with a
/// progress bar per job, status colours, elapsed time and the count of events seen.
/// It follows the SDK's resumable watch, so it survives disconnects and restarts.
struct LiveJobTable {
  let server: String
  private var jobs: [String: Job] = [:]
  private var revision: Int64 = 0
  private var events = 0
  private let started = Date()
  private var lastDraw = Date.distantPast
  private var resynchronizations = 0

  init(server: String) {
    self.server = server
  }

  mutating func apply(_ event: WatchEvent) {
    events += 1
    revision = event.revision
    switch event {
    case .snapshot(let all, _):
      jobs = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    case .resynchronized(let all, _):
      jobs = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
      resynchronizations += 1
    case .created(let job, _), .updated(let job, _):
      jobs[job.id] = job
    case .deleted(let job, _):
      jobs[job.id] = nil
    case .heartbeat:
      break
    }
  }

  /// Redraws at most ten times a second.
  mutating func drawIfDue() {
    let now = Date()
    guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
    lastDraw = now
    var size = winsize()
    let rows = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 4 ? Int(size.ws_row) : 40
    let elapsed = Int(now.timeIntervalSince(started))
    var text = "\u{1B}[H\u{1B}[2J"
    text += String(
      format: "kiln watch  %@  %d job(s)  revision %lld  %d event(s)  %02d:%02d:%02d  (Ctrl-C stops)\n",
      server, jobs.count, revision, events, elapsed / 3600, (elapsed / 60) % 60, elapsed % 60)
    if resynchronizations > 0 { text += "resynchronized \(resynchronizations) time(s) after falling out of the server's log\n" }
    let shown = jobs.values.sorted { ($0.createTime, $0.id) > ($1.createTime, $1.id) }.prefix(max(1, rows - 4))
    let header = ["ID", "PROJECT", "TYPE", "SUBJECT", "STATUS", "PROGRESS", "ELAPSED"]
    let cells = shown.map { job -> [String] in
      let live = job.status == .running ? Int64(now.timeIntervalSince(job.updateTime) * 1000) : 0
      return [
        String(job.id.prefix(8)), job.project, job.jobType, job.subject, job.status.rawValue,
        "\(Style.bar(job.progress)) \(job.progress)%", formatDuration(milliseconds: job.durationMillis + max(0, live)),
      ]
    }
    var widths = header.map(\.count)
    for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ row: [String], status: JobStatus?) -> String {
      row.enumerated().map { i, cell in
        let padded = cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        return i == 4 && status != nil ? Style.status(status!, padded) : padded
      }.joined(separator: "  ") + "\n"
    }
    text += line(header, status: nil)
    for (job, row) in zip(shown, cells) { text += line(row, status: job.status) }
    if jobs.count > shown.count { text += "… \(jobs.count - shown.count) more\n" }
    FileHandle.standardOutput.write(Data(text.utf8))
  }
}
