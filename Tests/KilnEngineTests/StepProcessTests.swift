import Foundation
import KilnCore
import KilnEngine
import KilnTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A step's processes get nothing of the server's, and nothing of a step outlives it
/// or its server.
@Suite("Step processes", .timeLimit(.minutes(2)))
struct StepProcessTests {
  @Test("a running step holds descriptors 0 to 3 only, whatever the server has open")
  func onlyItsOwnDescriptors() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    // What kilnd's sockets were: a descriptor without close-on-exec.
    let leaky = open("/dev/null", O_RDONLY)
    #expect(leaky > 3)
    defer { close(leaky) }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "HOLDING")
      var pid: pid_t?
      #expect(await eventually { pid = stepProcesses(jobID: job.id).first; return pid != nil })
      let step = try #require(pid)
      let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(step)/fd").compactMap(Int.init).sorted()
      #expect(descriptors == [0, 1, 2, 3])
      _ = try await engine.perform(.discard, jobID: job.id, caller: .system)
      #expect(await eventually { !isAlive(step) })
    }
  }

  @Test("a grandchild that left the step's process group (a daemon) is killed when the step ends")
  func daemonisedGrandchild() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      let job = try await harness.submit(engine, "DAEMON")
      #expect(try await eventually { try await engine.job(id: job.id, caller: .system).status == .finished })
      let daemon = try #require(harness.pid("daemon.pid"))
      #expect(getpgid(daemon) != getpgid(getpid()), "the grandchild really left the group")
      #expect(await eventually { !isAlive(daemon) })
    }
  }

  @Test("the steps a dead server left running are killed before the next server runs any job")
  func leftoversOfADeadServer() async throws {
    let harness = try EngineHarness()
    defer { harness.cleanUp() }
    // What a kill -9 of kilnd leaves: a step process (and its own child) carrying the
    // mark of this data directory's server, now orphaned.
    let owner = harness.logs.standardizedFileURL.resolvingSymlinksInPath().path
    let orphan = try TestProcess.spawn(
      URL(fileURLWithPath: "/bin/sh"), ["-c", "sleep 60 & echo $! > '\(harness.path("orphan-child.pid"))'; exec sleep 60"],
      environment: ["KILN_STEP_OWNER": owner, "PATH": "/usr/bin:/bin"])
    // A step of another data directory's server is none of this one's business.
    let stranger = try TestProcess.spawn(
      URL(fileURLWithPath: "/bin/sleep"), ["60"], environment: ["KILN_STEP_OWNER": owner + "-other"])
    defer { stranger.terminate() }
    #expect(await eventually { harness.pid("orphan-child.pid") != nil })
    let child = try #require(harness.pid("orphan-child.pid"))
    #expect(isAlive(orphan.pid) && isAlive(child))

    let engine = try harness.makeEngine(store: try await testStore())
    try await harness.running(engine) {
      #expect(await eventually { !isAlive(orphan.pid) && !isAlive(child) })
      #expect(isAlive(stranger.pid))
    }
  }
}

/// The live processes whose environment says they run a step of `jobID`.
func stepProcesses(jobID: String) -> [pid_t] {
  let needle = Array("KILN_JOB_ID=\(jobID)".utf8)
  return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
    guard let pid = pid_t(entry), isAlive(pid),
      let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
    else { return nil }
    return environment.split(separator: 0).contains { $0.elementsEqual(needle) } ? pid : nil
  }
}
