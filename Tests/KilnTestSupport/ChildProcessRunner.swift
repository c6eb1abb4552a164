public import Foundation

/// Runs child processes (``TestProcess``) for tests without blocking the Swift concurrency pool.
///
/// `FileHandle.readDataToEndOfFile()` blocks its thread until the child is done. On the concurrency pool (two threads on these machines) that
/// stalls every other test's server, so both run on a Dispatch thread here, and the test
/// task awaits them.
public enum ChildProcessRunner {
  /// What a finished child printed, and how it ended.
  public struct Output: Sendable {
    /// The exit status (or the signal number, when it was killed).
    public var status: Int32
    /// Standard output, as UTF-8.
    public var stdout: String
    /// Standard error, as UTF-8.
    public var stderr: String
  }

  /// Runs `executable` with `arguments` to its end: writes `stdin` (then closes it; the
  /// null device when `nil`) and collects standard output and error.
  public static func run(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil
  ) async throws -> Output {
    let process = try TestProcess.spawn(
      executable, arguments, environment: environment, stdin: stdin == nil ? .null : .pipe, stdout: .pipe, stderr: .pipe)
    if let stdin, let input = process.stdin {
      input.write(Data(stdin.utf8))
      try input.close()
    }
    async let stdout = readToEnd(process.stdout!)
    async let stderr = readToEnd(process.stderr!)
    let (outData, errData) = await (stdout, stderr)
    let status = await process.waitForExit()
    return Output(status: status, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
  }

  /// Everything `handle` yields until its writers close it.
  public static func readToEnd(_ handle: FileHandle) async -> Data {
    await offThePool { handle.readDataToEndOfFile() }
  }

  /// The first line `handle` yields (without its newline), read byte by byte so that
  /// nothing after it is consumed.
  public static func readLine(_ handle: FileHandle) async -> String {
    await offThePool {
      var line = Data()
      while let byte = try? handle.read(upToCount: 1), let character = byte.first, character != UInt8(ascii: "\n") {
        line.append(character)
      }
      return String(decoding: line, as: UTF8.self)
    }
  }

  private static func offThePool<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
    await withCheckedContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
  }
}
