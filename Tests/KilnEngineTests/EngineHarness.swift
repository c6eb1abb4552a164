import Foundation
import KilnCore
import KilnEngine
import KilnStore
import Logging
import ServiceLifecycle
import Testing

/// A temporary directory with executable scripts for `exec` steps, and an engine to run them.
struct EngineHarness {
  let directory: URL
  let logs: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-engine-\(UUID().uuidString)")
    logs = directory.appendingPathComponent("logs")
    try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    try script("count.sh", """
      #!/bin/sh
      # Records one execution per line in the file named by $1, prints to the log, reports progress.
      echo "run of $KILN_STEP for $KILN_JOB_ID" >> "$1"
      echo "hello from $KILN_STEP arg=$2"
      echo "KILN_PROGRESS 50" >&$KILN_PROGRESS_FD
      sleep 0.2
      echo "to stderr" >&2
      """)
    try script("fail.sh", """
      #!/bin/sh
      echo "attempt" >> "$1"
      echo "about to fail"
      exit 3
      """)
    try script("long.sh", """
      #!/bin/sh
      # Starts a child in its process group and records both pids; exits once $1/release exists.
      sleep 60 &
      echo $! > "$1/child.pid"
      echo $$ > "$1/leader.pid"
      while [ ! -f "$1/release" ]; do sleep 0.05; done
      kill $! 2>/dev/null
      exit 0
      """)
    try script("reporter.sh", """
      #!/bin/sh
      # Reports 40% and holds until $1/release exists.
      echo "KILN_PROGRESS 40" >&$KILN_PROGRESS_FD
      while [ ! -f "$1/release" ]; do sleep 0.05; done
      """)
    try script("daemon.sh", """
      #!/bin/sh
      # Starts a grandchild that leaves the step's process group and session (a daemon),
      # records its pid, and ends at once.
      setsid sh -c 'echo $$ > "$0/daemon.pid"; exec sleep 60' "$1" &
      while [ ! -s "$1/daemon.pid" ]; do sleep 0.02; done
      exit 0
      """)
    try script("stubborn.sh", """
      #!/bin/sh
      # Ignores SIGTERM: only the SIGKILL after the grace period stops it.
      trap '' TERM
      echo $$ > "$1/stubborn.pid"
      while true; do sleep 0.05; done
      """)
  }

  func script(_ name: String, _ text: String) throws {
    let url = directory.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
  }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  func exec(_ name: String, _ script: String, _ arguments: [String], retries: Int = 0) -> StepDefinition {
    StepDefinition(
      name: name, kind: .exec(program: path(script), arguments: arguments, environment: [:]), maxRetries: retries,
      retryBackoffMillis: 10)
  }

  /// Job types over the scripts: `dir` is the harness directory.
  func catalog() throws -> JobTypeCatalog {
    let dir = ParamDefinition(name: "dir", required: true)
    return try JobTypeCatalog(types: [
      JobType(name: "QUICK", steps: [exec("ONLY", "count.sh", ["${dir}/quick", "${dir}"])], params: [dir]),
      JobType(
        name: "PIPE",
        steps: [
          exec("FIRST", "count.sh", ["${dir}/first"]),
          exec("LONG", "long.sh", ["${dir}"]),
          exec("THIRD", "count.sh", ["${dir}/third"]),
        ], params: [dir]),
      JobType(name: "FAILING", steps: [exec("FAIL", "fail.sh", ["${dir}/failures"], retries: 2)], params: [dir]),
      JobType(name: "STUBBORN", steps: [exec("HOLD", "stubborn.sh", ["${dir}"])], params: [dir]),
      JobType(name: "REPORTER", steps: [exec("REPORT", "reporter.sh", ["${dir}"])], params: [dir]),
      JobType(name: "DAEMON", steps: [exec("FORK", "daemon.sh", ["${dir}"])], params: [dir]),
      JobType(
        name: "HOLDING",
        steps: [StepDefinition(name: "SLEEP", kind: .exec(program: "/bin/sleep", arguments: ["30"], environment: [:]))]),
      JobType(
        name: "SLEEPY",
        steps: [
          StepDefinition(name: "NAP", kind: .sleep(durationMillis: 200)),
          StepDefinition(name: "NAP2", kind: .sleep(durationMillis: 200), maxRetries: 1, retryBackoffMillis: 10),
        ]),
    ])
  }

  func makeEngine(store: any JobStore, maxRunning: Int = 8, perProject: Int = 8) throws -> JobEngine {
    var logger = Logger(label: "kiln-test")
    logger.logLevel = .warning
    return JobEngine(
      store: store, catalog: try catalog(),
      configuration: EngineConfiguration(
        maxRunningJobs: maxRunning, maxRunningJobsPerProject: perProject, logsDirectory: logs,
        stopGracePeriod: .milliseconds(300), progressInterval: .milliseconds(50)),
      logger: logger)
  }

  /// Runs `engine` in a service group while `body` runs, then shuts it down gracefully,
  /// as SIGTERM does in `kilnd`.
  func running<R: Sendable>(_ engine: JobEngine, _ body: () async throws -> R) async throws -> R {
    let services = ServiceGroup(services: [engine], logger: Logger(label: "kiln-test"))
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await services.run() }
      do {
        let result = try await body()
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return result
      } catch {
        await services.triggerGracefulShutdown()
        throw error
      }
    }
  }

  /// Submits a job, creating its subject first when the project lacks it.
  func submit(
    _ engine: JobEngine, _ type: String, project: String = "p1", subject: String = "s", params: [String: String] = [:]
  ) async throws -> Job {
    var all = params
    if !["SLEEPY", "HOLDING"].contains(type) { all["dir"] = directory.path }
    do {
      _ = try await engine.createSubject(project: project, name: subject, caller: .system)
    } catch let error as KilnError where error.code == .alreadyExists {}
    return try await engine.submit(
      .init(project: project, jobType: type, subject: subject, params: all), caller: Caller(name: "t", isAdmin: true))
  }

  func lines(_ name: String) -> [String] {
    ((try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
  }

  func pid(_ name: String) -> pid_t? {
    (try? String(contentsOfFile: path(name), encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
  }

  func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`.
/// Returns whether it held: the test asserts on that, never on the time taken.
@discardableResult
func eventually(_ seconds: Double = 15, _ condition: () async throws -> Bool) async rethrows -> Bool {
  // Scaled like KilnTestSupport's waits (this target does not link it): sanitizers run
  // everything several times slower.
  let factor = ProcessInfo.processInfo.environment["KILN_TEST_TIME_FACTOR"].flatMap(Double.init).map { max($0, 1) } ?? 1
  let deadline = Date().addingTimeInterval(seconds * factor)
  while Date() < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}

/// Whether a process exists and is not a zombie.
func isAlive(_ pid: pid_t) -> Bool {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
  guard let close = stat.lastIndex(of: ")") else { return false }
  let state = stat[stat.index(close, offsetBy: 2)]
  return state != "Z" && state != "X"
}

/// A store (in memory, or the file at `path`) with the projects the tests use, each
/// with the subject `s`.
func testStore(path: String? = nil) async throws -> SQLiteJobStore {
  let store = try path.map { try SQLiteJobStore(path: $0) } ?? SQLiteJobStore.inMemory()
  for name in ["p", "p1", "p2", "p3", "a", "b", "alpha", "beta", "sales", "ops"] where try await store.project(named: name) == nil {
    try await store.createProject(Project(name: name, description: "", createTime: Date(), creator: "test"))
    try await store.createSubject(Subject(project: name, name: "s", createTime: Date(), creator: "test"))
  }
  return store
}
