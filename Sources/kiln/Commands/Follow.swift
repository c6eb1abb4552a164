import ArgumentParser
import Foundation
import KilnClient

struct Wait: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Wait until a job is FINISHED, DISCARDED or ERROR; exit 0 only if it FINISHED.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "The job's id.") var id: String

  func run() async throws {
    try await reporting {
      let job = try await global.connect { try await $0.waitForJob(id) }
      printJob(job, global.output)
      if job.status != .finished { throw ExitCode(1) }
    }
  }
}

struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print job changes as they happen (Ctrl-C stops); resumes by itself after disconnects.")
  @OptionGroup var global: GlobalOptions
  @OptionGroup var filter: FilterOptions
  @Option(help: "Resume after this revision instead of starting with a snapshot.") var since: Int64?
  @Flag(help: "Include progress-only changes.") var progress = false
  @Flag(help: "One line per change, even on a terminal (where the default is a live table).") var lines = false

  func run() async throws {
    if global.output == .table && !lines && isatty(STDOUT_FILENO) == 1 {
      let jobFilter = try filter.filter()
      try await reporting {
        try await global.connect { kiln in
          var view = LiveJobTable(server: "\(kiln.configuration.host):\(kiln.configuration.port)")
          for try await event in kiln.watchJobs(filter: jobFilter, includeProgress: true, since: since) {
            view.apply(event)
            view.drawIfDue()
          }
        }
      }
      return
    }
    struct EventJSON: Encodable {
      var kind: String
      var revision: Int64
      var job: JobJSON?
      var jobs: [JobJSON]?
    }
    let jobFilter = try filter.filter()
    try await reporting {
      try await global.connect { kiln in
        for try await event in kiln.watchJobs(filter: jobFilter, includeProgress: progress, since: since) {
          let (kind, jobs): (String, [Job]?) =
            switch event {
            case .snapshot(let jobs, _): ("SNAPSHOT", jobs)
            case .resynchronized(let jobs, _): ("RESYNCHRONIZED", jobs)
            case .created: ("CREATED", nil)
            case .updated: ("UPDATED", nil)
            case .deleted: ("DELETED", nil)
            case .heartbeat: ("HEARTBEAT", nil)
            }
          switch global.output {
          case .json:
            printJSONLine(
              EventJSON(kind: kind, revision: event.revision, job: event.job.map(JobJSON.init), jobs: jobs?.map(JobJSON.init)))
          case .table:
            if let jobs {
              print("\(kind) at revision \(event.revision): \(jobs.count) job(s)")
              for job in jobs { print("  \(job.id)  \(job.status.rawValue)  \(job.progress)%") }
            } else if let job = event.job {
              print("\(event.revision)  \(kind)  \(job.id)  \(job.project)  \(job.status.rawValue)  \(job.progress)%")
            } else {
              print("\(event.revision)  \(kind)")
            }
          }
          fflush(nil)
        }
      }
    }
  }
}

struct Log: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print a step's log: kiln log JOB STEP [-f]")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "The job's id.") var job: String
  @Argument(help: "The step's id, index or name.") var step: String
  @Flag(name: [.short, .long], help: "Keep printing as the step writes, until it ends.") var follow = false

  func run() async throws {
    try await reporting {
      try await global.connect { kiln in
        if follow {
          for try await data in kiln.followStepLog(jobID: job, step: step) {
            FileHandle.standardOutput.write(data)
          }
          return
        }
        var offset: Int64 = 0
        while true {
          let chunk = try await kiln.stepLog(jobID: job, step: step, offset: offset)
          FileHandle.standardOutput.write(chunk.data)
          if chunk.data.isEmpty { break }
          offset = chunk.nextOffset
        }
      }
    }
  }
}
