/// One step of a job type: what runs, and how often it is retried.
public struct StepDefinition: Sendable, Hashable, Codable {
  /// What a step does when it runs.
  public enum Kind: Sendable, Hashable {
    /// Simulated work: sleeps for a duration, reporting progress ten times.
    ///
    /// A job's params can change it, for demos and tests: `sleep_ms` overrides the
    /// duration of every sleep step; `fail_step` (a step name or index) makes that
    /// step fail; `fail_times` limits how many executions of it fail (default: all).
    case sleep(durationMillis: Int64)
    /// Runs a program named by the configuration, never through a shell.
    ///
    /// Each argument may contain `${param}` placeholders, replaced by the job's
    /// parameter values (and `${job_id}`, `${project}`, `${subject}`, `${attempt}`,
    /// `${step}`); a value never splits into several arguments. The program's
    /// stdout and stderr go to the step's log; exit status 0 is success. The
    /// program reports progress by writing a line `KILN_PROGRESS <0-100>` to the
    /// file descriptor named in the environment variable `KILN_PROGRESS_FD`.
    case exec(program: String, arguments: [String], environment: [String: String])
  }

  /// The step's name, e.g. `BUILD_INDEX`.
  public var name: String
  /// What runs.
  public var kind: Kind
  /// How many times a failed execution is retried before the job goes to ERROR.
  public var maxRetries: Int
  /// The wait before the first retry; it doubles for each further retry.
  public var retryBackoffMillis: Int64
  /// The longest one execution may run before it is stopped and counted as failed; 0 for no limit.
  public var timeoutMillis: Int64

  /// Creates a step definition.
  public init(name: String, kind: Kind, maxRetries: Int = 0, retryBackoffMillis: Int64 = 1000, timeoutMillis: Int64 = 0) {
    self.name = name
    self.kind = kind
    self.maxRetries = maxRetries
    self.retryBackoffMillis = retryBackoffMillis
    self.timeoutMillis = timeoutMillis
  }

  /// `"sleep"` or `"exec"`.
  public var kindName: String {
    switch kind {
    case .sleep: "sleep"
    case .exec: "exec"
    }
  }

  // The configuration file's shape:
  // { "name": "DUMP", "exec": { "program": "/usr/bin/x", "arguments": ["${table}"], "environment": {} },
  //   "max_retries": 2, "retry_backoff_ms": 500, "timeout_ms": 0 }
  // or { "name": "WAIT", "sleep": { "duration_ms": 2000 } }
  enum CodingKeys: String, CodingKey {
    case name, sleep, exec
    case maxRetries = "max_retries"
    case retryBackoffMillis = "retry_backoff_ms"
    case timeoutMillis = "timeout_ms"
  }

  struct SleepBody: Codable {
    var durationMillis: Int64
    enum CodingKeys: String, CodingKey { case durationMillis = "duration_ms" }
  }

  struct ExecBody: Codable {
    var program: String
    var arguments: [String]?
    var environment: [String: String]?
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries) ?? 0
    retryBackoffMillis = try c.decodeIfPresent(Int64.self, forKey: .retryBackoffMillis) ?? 1000
    timeoutMillis = try c.decodeIfPresent(Int64.self, forKey: .timeoutMillis) ?? 0
    if let exec = try c.decodeIfPresent(ExecBody.self, forKey: .exec) {
      kind = .exec(program: exec.program, arguments: exec.arguments ?? [], environment: exec.environment ?? [:])
    } else if let sleep = try c.decodeIfPresent(SleepBody.self, forKey: .sleep) {
      kind = .sleep(durationMillis: sleep.durationMillis)
    } else {
      throw DecodingError.dataCorruptedError(
        forKey: .name, in: c, debugDescription: "step \(name) needs either \"sleep\" or \"exec\"")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(maxRetries, forKey: .maxRetries)
    try c.encode(retryBackoffMillis, forKey: .retryBackoffMillis)
    try c.encode(timeoutMillis, forKey: .timeoutMillis)
    switch kind {
    case .sleep(let d): try c.encode(SleepBody(durationMillis: d), forKey: .sleep)
    case .exec(let p, let a, let e):
      try c.encode(ExecBody(program: p, arguments: a, environment: e), forKey: .exec)
    }
  }
}
