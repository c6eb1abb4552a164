public import Foundation

/// The job types a server offers, checked once when the server starts.
public struct JobTypeCatalog: Sendable {
  /// The types, in configuration order.
  public let types: [JobType]
  private let byName: [String: JobType]

  /// Creates a catalog after checking that the types are well formed.
  ///
  /// - Throws: ``KilnError`` (invalid argument) naming the type and the problem.
  public init(types: [JobType]) throws(KilnError) {
    var byName: [String: JobType] = [:]
    for type in types {
      guard !type.name.isEmpty else { throw .invalidArgument(field: "job_types.name", "is empty") }
      guard byName[type.name] == nil else {
        throw .invalidArgument(field: "job_types.\(type.name)", "defined twice")
      }
      guard !type.steps.isEmpty else { throw .invalidArgument(field: "job_types.\(type.name).steps", "is empty") }
      if let callbackURL = type.callbackURL {
        try CallbackURL.validate(callbackURL, field: "job_types.\(type.name).callback_url")
      }
      let known = Set(type.params.map(\.name)).union(Self.builtinPlaceholders)
      for step in type.steps {
        guard step.maxRetries >= 0, step.retryBackoffMillis >= 0, step.timeoutMillis >= 0 else {
          throw .invalidArgument(field: "job_types.\(type.name).steps.\(step.name)", "negative retry or timeout")
        }
        // The wire's StepType.max_retries is an int32: a larger count used to pass here and
        // trap in ListJobTypes's conversion, on every call.
        guard step.maxRetries <= Int(Int32.max) else {
          throw .invalidArgument(
            field: "job_types.\(type.name).steps.\(step.name).max_retries", "\(step.maxRetries) is above \(Int32.max)")
        }
        if case .exec(let program, let arguments, _) = step.kind {
          guard program.hasPrefix("/") else {
            throw .invalidArgument(
              field: "job_types.\(type.name).steps.\(step.name).exec.program", "must be an absolute path")
          }
          for argument in arguments {
            for name in ArgumentTemplate.placeholders(in: argument) where !known.contains(name) {
              throw .invalidArgument(
                field: "job_types.\(type.name).steps.\(step.name).exec.arguments",
                "${\(name)} is not a declared param of the type")
            }
          }
        }
      }
      byName[type.name] = type
    }
    self.types = types
    self.byName = byName
  }

  /// The placeholders every `exec` argument may use besides the type's params.
  public static let builtinPlaceholders: Set<String> = ["job_id", "project", "subject", "attempt", "step"]

  /// The type named `name`, if the catalog has it.
  public func type(named name: String) -> JobType? { byName[name] }

  /// Reads a catalog from a configuration file's JSON: `{ "job_types": [ ... ] }`.
  public static func decode(json: Data) throws -> JobTypeCatalog {
    struct File: Decodable {
      var jobTypes: [JobType]
      enum CodingKeys: String, CodingKey { case jobTypes = "job_types" }
    }
    let file = try JSONDecoder().decode(File.self, from: json)
    return try JobTypeCatalog(types: file.jobTypes)
  }

  /// The built-in types, modelled on Apache Kylin's jobs, all simulated with sleep steps.
  public static let builtin: JobTypeCatalog = {
    func type(_ name: String, _ description: String, _ steps: [String]) -> JobType {
      JobType(
        name: name, description: description,
        steps: steps.map { StepDefinition(name: $0, kind: .sleep(durationMillis: 2000), maxRetries: 1, retryBackoffMillis: 500) },
        params: [
          ParamDefinition(name: "sleep_ms", description: "overrides each step's simulated duration (ms)"),
          ParamDefinition(name: "fail_step", description: "name or index of a step that fails"),
          ParamDefinition(name: "fail_times", description: "how many executions of fail_step fail (default: all)"),
        ])
    }
    // try! is safe: the literal types below are well formed, and a test checks it.
    return try! JobTypeCatalog(types: [
      type("INDEX_BUILD", "Build the indexes of a model", ["DETECT_RESOURCE", "LOAD_DATA", "BUILD_INDEX", "UPDATE_METADATA"]),
      type("INC_BUILD", "Build a new segment incrementally", ["DETECT_RESOURCE", "LOAD_DATA", "BUILD_INDEX", "UPDATE_METADATA"]),
      type("INDEX_MERGE", "Merge segments", ["DETECT_RESOURCE", "MERGE_SEGMENTS", "CLEAN_UP", "UPDATE_METADATA"]),
      type("INDEX_REFRESH", "Refresh the indexes of a segment", ["DETECT_RESOURCE", "LOAD_DATA", "BUILD_INDEX", "UPDATE_METADATA"]),
      type("SNAPSHOT_BUILD", "Build a table snapshot", ["BUILD_SNAPSHOT", "UPDATE_METADATA"]),
      type("TABLE_SAMPLING", "Sample a table's data", ["SAMPLE_TABLE", "UPDATE_METADATA"]),
    ])
  }()
}

/// `${name}` placeholders in `exec` arguments.
public enum ArgumentTemplate {
  /// The names of the placeholders in `text`, in order.
  public static func placeholders(in text: String) -> [String] {
    var names: [String] = []
    var rest = Substring(text)
    while let open = rest.range(of: "${") {
      guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
      names.append(String(rest[open.upperBound..<close]))
      rest = rest[rest.index(after: close)...]
    }
    return names
  }

  /// `text` with each `${name}` replaced by `values[name]` (an empty string when absent).
  public static func render(_ text: String, values: [String: String]) -> String {
    var result = ""
    var rest = Substring(text)
    while let open = rest.range(of: "${") {
      guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
      result += rest[..<open.lowerBound]
      result += values[String(rest[open.upperBound..<close])] ?? ""
      rest = rest[rest.index(after: close)...]
    }
    result += rest
    return result
  }
}
