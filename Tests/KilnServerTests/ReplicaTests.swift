import Foundation
import KilnClient
import KilnCore
import KilnServer
import KilnTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Several kilnd on one PostgreSQL database: operations through any replica act on
/// jobs running on another, limits hold across them, and a replica that dies has its
/// jobs taken over once their leases run out.
@Suite(
  "Replicas on one PostgreSQL database",
  // Once per run: the server suites' second pass on PostgreSQL would repeat it as is.
  .enabled(if: PostgresScratchDatabase.serverURL != nil && !ServerHarness.defaultsToPostgres),
  .timeLimit(.minutes(3)))
struct ReplicaTests {
  /// A job type whose one step writes a line every 50 ms until it is stopped.
  static let catalog = try! JobTypeCatalog(types: [
    JobType(
      name: "TICKER",
      steps: [
        StepDefinition(
          name: "TICK", kind: .exec(program: "/bin/sh", arguments: ["-c", "while :; do echo tick; sleep 0.05; done"], environment: [:]))
      ])
  ])

  func client(_ port: Int, token: String) -> KilnClientConfiguration {
    KilnClientConfiguration(host: "127.0.0.1", port: port, token: token, timeout: .seconds(30) * testTimeFactor)
  }

  /// The size of every step log under a data directory.
  func logBytes(_ harness: ServerHarness) -> Int {
    let logs = harness.dataDirectory.appendingPathComponent("logs")
    guard let files = FileManager.default.enumerator(at: logs, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
    var total = 0
    for case let url as URL in files {
      total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
    }
    return total
  }

  @Test("a job running on one replica is paused through another, and its step stops there within 2 s")
  func pauseAcrossReplicas() async throws {
    let database = try await PostgresScratchDatabase.create()
    let (runner, front) = (ServerHarness(sharing: database), ServerHarness(sharing: database))
    defer {
      try? FileManager.default.removeItem(at: runner.dataDirectory)
      try? FileManager.default.removeItem(at: front.dataDirectory)
    }
    try await runner.serve(configure: { $0.jobTypes = Self.catalog }) { runnerPort, _ in
      let token = try runner.adminToken
      // The front replica starts no job itself: every job runs on the other one.
      try await front.serve(configure: { $0.jobTypes = Self.catalog; $0.maxRunningJobs = 0 }) { frontPort, _ in
        try await withKilnClient(client(frontPort, token: token)) { kiln in
          let job = try await kiln.submit(project: "p", type: "TICKER", subject: "s")
          #expect(try await eventually { try await kiln.job(job.id).status == .running }, "started by the runner replica")
          #expect(await eventually(10) { logBytes(runner) > 0 }, "its step writes on the runner's disk")
          let paused = try await kiln.pause(job.id)
          #expect(paused.status == .paused)
          try await Task.sleep(for: .seconds(2))
          let settled = logBytes(runner)
          try await Task.sleep(for: .milliseconds(500))
          #expect(logBytes(runner) == settled, "the step stopped within 2 s of the pause")
          // Resumed through the runner's own address, it runs there again.
          try await withKilnClient(client(runnerPort, token: token)) { direct in
            _ = try await direct.resume(job.id)
            #expect(try await eventually { try await direct.job(job.id).status == .running })
            _ = try await direct.discard(job.id)
          }
        }
      }
    }
    await database.drop()
  }

  @Test("a watch follows every replica's changes, and resumes on another replica with no gap or repeat")
  func watchAcrossReplicas() async throws {
    let database = try await PostgresScratchDatabase.create()
    let (a, b) = (ServerHarness(sharing: database), ServerHarness(sharing: database))
    defer {
      try? FileManager.default.removeItem(at: a.dataDirectory)
      try? FileManager.default.removeItem(at: b.dataDirectory)
    }
    try await a.serve { portA, _ in
      let token = try a.adminToken
      try await b.serve { portB, _ in
        try await withKilnClient(client(portA, token: token)) { onA in
          try await withKilnClient(client(portB, token: token)) { onB in
            var revisions: [Int64] = []
            var finished = Set<String>()
            // On A: changes made through B.
            var iterator = onA.watchJobs(includeProgress: true).makeAsyncIterator()
            guard case .snapshot = try await iterator.next() else {
              Issue.record("a watch starts with its snapshot")
              return
            }
            for i in 0..<3 { _ = try await onB.submit(project: "p", type: "INDEX_BUILD", subject: "w\(i)", params: ["sleep_ms": "100"]) }
            while revisions.count < 6, let event = try await iterator.next() {
              if let job = event.job {
                revisions.append(event.revision)
                if job.status == .finished { finished.insert(job.id) }
              }
            }
            // Resumed on B from the last revision seen on A, while more changes come through A.
            let last = try #require(revisions.last)
            for i in 3..<5 { _ = try await onA.submit(project: "p", type: "INDEX_BUILD", subject: "w\(i)", params: ["sleep_ms": "100"]) }
            var resumed = onB.watchJobs(includeProgress: true, since: last).makeAsyncIterator()
            while finished.count < 5, let event = try await resumed.next() {
              if case .resynchronized = event { Issue.record("no resynchronization expected") }
              if let job = event.job {
                revisions.append(event.revision)
                if job.status == .finished { finished.insert(job.id) }
              }
            }
            let first = try #require(revisions.first)
            #expect(revisions == Array(first..<(first + Int64(revisions.count))), "consecutive across the two replicas")
          }
        }
      }
    }
    await database.drop()
  }

  @Test("limits hold across replicas: no more jobs run at once than one kilnd's limit")
  func limitsAcrossReplicas() async throws {
    let database = try await PostgresScratchDatabase.create()
    let (a, b) = (ServerHarness(sharing: database), ServerHarness(sharing: database))
    defer {
      try? FileManager.default.removeItem(at: a.dataDirectory)
      try? FileManager.default.removeItem(at: b.dataDirectory)
    }
    try await a.serve(configure: { $0.maxRunningJobs = 3 }) { portA, _ in
      let token = try a.adminToken
      try await b.serve(configure: { $0.maxRunningJobs = 3 }) { portB, _ in
        try await withKilnClient(client(portA, token: token)) { kiln in
          var ids: [String] = []
          for i in 0..<8 {
            ids.append(try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "l\(i)", params: ["sleep_ms": "300"]).id)
          }
          var most = 0
          var finished = 0
          while finished < ids.count {
            let jobs = try await kiln.listJobs(filter: JobFilter(projects: ["p"]), pageSize: 100)
            most = max(most, jobs.jobs.filter { $0.status == .running }.count)
            finished = jobs.jobs.filter { $0.status == .finished }.count
            try await Task.sleep(for: .milliseconds(50))
          }
          #expect(most <= 3, "at most 3 running at once over both replicas, saw \(most)")
          _ = portB
        }
      }
    }
    await database.drop()
  }

  @Test("a replica killed with SIGKILL has its jobs taken over by another once their leases run out")
  func takeoverAfterKill() async throws {
    let kilnd = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kilnd")
    try #require(FileManager.default.isExecutableFile(atPath: kilnd.path), "swift build builds kilnd beside the tests")
    let database = try await PostgresScratchDatabase.create()
    let doomed = ServerHarness(sharing: database)
    let survivor = ServerHarness(sharing: database)
    defer {
      try? FileManager.default.removeItem(at: doomed.dataDirectory)
      try? FileManager.default.removeItem(at: survivor.dataDirectory)
    }
    let port = try ServerHarness.stablePort()
    let process = try TestProcess.spawn(
      kilnd,
      [
        "--port", String(port), "--data-dir", doomed.dataDirectory.path, "--store", database.url, "--lease-seconds", "1",
        "--log-level", "error",
      ], stdout: .descriptor(1), stderr: .descriptor(2))
    let started = await eventually(30) { (try? doomed.adminToken) != nil }
    #expect(started)
    let token = try doomed.adminToken
    var ids: [String] = []
    try await withKilnClient(client(port, token: token)) { kiln in
      let serving = await eventually(30) { (try? await kiln.listJobs(filter: JobFilter(projects: ["default"]))) != nil }
      #expect(serving)
      for i in 0..<3 {
        ids.append(
          try await kiln.submit(project: "default", type: "INDEX_BUILD", subject: "k\(i)", params: ["sleep_ms": "4000"]).id)
      }
      let running = try await eventually { try await ids.asyncAllSatisfy { try await kiln.job($0).status == .running } }
      #expect(running)
    }
    process.terminate(SIGKILL)
    _ = await process.waitForExit()
    let killedAt = Date()
    try await survivor.serve(configure: { $0.leaseDuration = .seconds(1) }) { survivorPort, _ in
      try await withKilnClient(client(survivorPort, token: token)) { kiln in
        let finished = try await eventually(60) {
          try await ids.asyncAllSatisfy { try await kiln.job($0).status == .finished }
        }
        #expect(finished, "every job of the dead replica finishes on the survivor")
        for id in ids {
          let job = try await kiln.job(id)
          #expect(job.updateTime > killedAt, "finished after the kill, by the survivor")
          #expect(job.attempt == 1, "a takeover is no restart")
        }
      }
    }
    #expect(Date().timeIntervalSince(killedAt) < 60)
    await database.drop()
  }
}

extension Array where Element: Sendable {
  /// Whether `predicate` holds for every element, asked one at a time.
  func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
    for element in self where try await !predicate(element) { return false }
    return true
  }
}
