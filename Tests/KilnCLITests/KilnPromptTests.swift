import Foundation
import KilnServer
import KilnTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The `kiln` prompt under a pseudo-terminal, typed at like a person would.
final class PromptSession: Sendable {
  private let master: Int32
  private let process: TestProcess
  private let output = Mutex<String>("")

  init(port: Int, token: String, historyFile: String) throws {
    master = c_posix_openpt(O_RDWR | O_NOCTTY)
    guard master >= 0, c_grantpt(master) == 0, c_unlockpt(master) == 0, let name = c_ptsname(master) else {
      throw CocoaError(.fileNoSuchFile)
    }
    let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
    guard slave >= 0 else { throw CocoaError(.fileNoSuchFile) }
    defer { close(slave) }
    var size = winsize(ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
    _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
    var environment = KilnCommand(port: port, token: token).environment
    environment["KILN_HISTORY_FILE"] = historyFile
    environment["TERM"] = "xterm"
    environment["NO_COLOR"] = nil
    // A session of its own with the pseudo-terminal as controlling terminal, so that
    // Ctrl-C reaches it as SIGINT while a command runs, as in a real terminal.
    process = try TestProcess.spawn(
      URL(fileURLWithPath: "/usr/bin/setsid"), ["-c", KilnCommand.executable.path], environment: environment,
      stdin: .descriptor(slave), stdout: .descriptor(slave), stderr: .descriptor(slave))
    let master = self.master
    Thread.detachNewThread { [weak self] in
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        guard count > 0 else { return }
        // Escape sequences that redraw the line are dropped: tests read the text.
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        guard let self else { return }
        self.output.withLock { $0 += text }
      }
    }
  }

  deinit {
    process.terminate()
    close(master)
  }

  func type(_ keys: String) {
    let bytes = Array(keys.utf8)
    _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
  }

  /// Everything printed so far.
  var screen: String { output.withLock { $0 } }

  /// Waits until the output after `mark` contains `text`; returns whether it did.
  func waitFor(_ text: String, after mark: Int = 0, seconds: Double = 15) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      let current = screen
      if current.count > mark, current.dropFirst(mark).contains(text) { return true }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return false
  }

  var mark: Int { screen.count }

  var exited: Bool { !process.isRunning }
}

@Suite("The kiln prompt under a pseudo-terminal", .timeLimit(.minutes(3)))
struct KilnPromptTests {
  @Test("typing, completion (commands, and job ids filtered by action), history, confirmation, Ctrl-C during watch")
  func promptSession() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let historyFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-history-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: historyFile) }
    try await harness.serve(configure: { $0.maxRunningJobs = 1 }) { port, _ in
      let kiln = KilnCommand(port: port, token: try harness.adminToken)
      for subject in ["held", "queued"] { #expect(try await kiln.run("subject", "create", subject).status == 0) }
      let running = try await kiln.run("submit", "INDEX_BUILD", "held", "sleep_ms=600000").stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let queued = try await kiln.run("submit", "INDEX_BUILD", "queued", "sleep_ms=600000").stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(try await kiln.run("pause", queued).status == 0)

      let session = try PromptSession(port: port, token: try harness.adminToken, historyFile: historyFile)
      #expect(await session.waitFor("> "))

      // A command completed from its first letters, then run.
      var mark = session.mark
      session.type("ty\t")
      #expect(await session.waitFor("types ", after: mark))
      session.type("\r")
      #expect(await session.waitFor("SNAPSHOT_BUILD", after: mark))

      // After `resume `, Tab offers only the jobs a resume applies to: the paused one.
      mark = session.mark
      session.type("resume \t")
      #expect(await session.waitFor("resume \(queued)", after: mark))
      #expect(!session.screen.dropFirst(mark).contains(running))
      // A second Tab does not offer the id already on the line.
      session.type("\t")
      try await Task.sleep(for: .milliseconds(700))
      #expect(!session.screen.dropFirst(mark).contains("\(queued) \(queued)"))
      session.type("\r")
      #expect(await session.waitFor("PENDING", after: mark))

      // History: Up recalls the last line; Ctrl-U clears it.
      mark = session.mark
      session.type("\u{1B}[A")
      #expect(await session.waitFor("resume \(queued)", after: mark))
      session.type("\u{15}")

      // A destructive command asks; "n" keeps the job, "y" discards it.
      mark = session.mark
      session.type("discard \(queued)\r")
      #expect(await session.waitFor("[y/N]", after: mark))
      mark = session.mark
      session.type("n\r")
      // The answer is handled once the prompt is back.
      #expect(await session.waitFor("> ", after: mark))
      #expect(try await kiln.run("job", queued, "-o", "json").stdout.contains("\"status\":\"PENDING\""))
      mark = session.mark
      session.type("discard \(queued)\r")
      #expect(await session.waitFor("[y/N]", after: mark))
      session.type("y\r")
      #expect(await session.waitFor("DISCARDED", after: mark))

      // On a terminal, watch is a live table with progress bars; Ctrl-C ends it and
      // the prompt carries on.
      mark = session.mark
      session.type("watch\r")
      #expect(await session.waitFor("kiln watch", after: mark))
      #expect(await session.waitFor(String(running.prefix(8)), after: mark))
      #expect(await session.waitFor("[--------------------] 0%", after: mark), "a progress bar")
      session.type("\u{03}")
      #expect(await session.waitFor("interrupted", after: mark))

      // Statuses are coloured on a terminal (and not with --no-color).
      mark = session.mark
      session.type("jobs --status running\r")
      #expect(await session.waitFor("\u{1B}[34mRUNNING", after: mark))
      mark = session.mark
      session.type("jobs --status running --no-color\r")
      #expect(await session.waitFor("1 of 1 job(s)", after: mark))
      #expect(!session.screen.dropFirst(mark).contains("\u{1B}[34m"))
      mark = session.mark
      session.type("job \(running)\r")
      #expect(await session.waitFor("RUNNING", after: mark))

      // Ctrl-D leaves; the history file has the lines typed.
      session.type("\u{04}")
      // A deadline, not a speed: on a loaded machine (the PostgreSQL pass runs every
      // server suite at once) leaving took more than 10 s.
      let deadline = Date().addingTimeInterval(30 * testTimeFactor)
      while !session.exited && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
      #expect(session.exited)
      let history = (try? String(contentsOfFile: historyFile, encoding: .utf8)) ?? ""
      #expect(history.contains("types") && history.contains("resume \(queued)"))
    }
  }
}

// The pseudo-terminal calls, which Glibc's Swift module does not export (they need
// _XOPEN_SOURCE).
@_silgen_name("posix_openpt") private func c_posix_openpt(_ flags: Int32) -> Int32
@_silgen_name("grantpt") private func c_grantpt(_ fd: Int32) -> Int32
@_silgen_name("unlockpt") private func c_unlockpt(_ fd: Int32) -> Int32
@_silgen_name("ptsname") private func c_ptsname(_ fd: Int32) -> UnsafeMutablePointer<CChar>?
