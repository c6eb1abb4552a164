import Foundation
import KilnCore
import KilnProto
import KilnWire
import KilnServer

/// The job-type configuration parser, `JobTypeCatalog.decode(json:)`.
///
/// Inputs: real catalogs (the README's example, the reliability suite's, the built-in
/// types) mutated byte by byte, and catalogs generated as values (with empty and duplicate
/// names, relative programs, unknown placeholders, bad callback URLs, negative and huge
/// numbers) encoded to JSON, sometimes mutated too.
///
/// Properties: the parser never traps; it throws only `KilnError` (INVALID_ARGUMENT naming a
/// `job_types…` field) or `DecodingError`; an accepted catalog has none of the problems
/// ``CatalogProblems`` finds (computed independently), every type is found by name, converts
/// to its wire form without loss and survives encode → decode unchanged; a generated catalog
/// is accepted exactly when it has no problem, and refused for one of its problems.
package struct JobTypeCatalogFuzz: FuzzCase {
  package let name = "job-type-catalog"
  package let summary = "JobTypeCatalog.decode(json:) on mutated and generated configuration files"

  private let corpus: [[UInt8]]
  private let mutator = ByteMutator(dictionary: [
    "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "0", "-1", "\"\"", "{}", "[]", "\\u0000", "\\ud800",
    "\"name\"", "\"steps\"", "\"params\"", "\"sleep\"", "\"exec\"", "\"program\"", "\"arguments\"", "\"environment\"",
    "\"max_retries\"", "\"retry_backoff_ms\"", "\"timeout_ms\"", "\"duration_ms\"", "\"callback_url\"", "\"default\"",
    "\"required\"", "\"description\"", "\"job_types\"", "\"${table}\"", "\"${nope}\"", "\"/bin/echo\"", "\"echo\"",
    "\"http://h/x\"", "\"ftp://h\"", "\"http://h:0/\"", "\"http://h:65536/\"", "${", "}", "\"a\":1,",
    "{\"name\":\"S\",\"sleep\":{\"duration_ms\":1}}", "{\"name\":\"T\",\"steps\":[{\"name\":\"S\",\"sleep\":{\"duration_ms\":1}}]}",
  ])

  package init() {
    var corpus = Self.seedCatalogs.map { Array($0.utf8) }
    if let builtin = try? Self.encode(JobTypeCatalog.builtin.types) { corpus.append(builtin) }
    self.corpus = corpus
  }

  package func run(using random: inout FuzzRandom) -> FuzzOutcome {
    if random.chance(1, in: 3) {
      let types = Self.randomTypes(using: &random)
      guard let json = try? Self.encode(types) else {
        return .failed(FuzzFailure("JSONEncoder cannot encode generated job types", input: "\(types)"))
      }
      if random.chance(1, in: 4) {
        return check(mutator.mutate(json, splicing: random.pick(corpus), using: &random), generated: nil)
      }
      return check(json, generated: types)
    }
    var bytes = random.pick(corpus)
    if random.chance(1, in: 4) { bytes = mutator.mutate(bytes, splicing: random.pick(corpus), using: &random) }
    return check(mutator.mutate(bytes, splicing: random.pick(corpus), using: &random), generated: nil)
  }

  /// Decodes `json` and checks the outcome; `generated` is the catalog `json` encodes, when known.
  func check(_ json: [UInt8], generated: [JobType]?) -> FuzzOutcome {
    let input = { generated.map { "generated \($0)\n    json: " } ?? "" }
    func failure(_ property: String) -> FuzzOutcome {
      .failed(FuzzFailure(property, input: input() + json.fuzzDescription))
    }
    let catalog: JobTypeCatalog
    do {
      catalog = try JobTypeCatalog.decode(json: Data(json))
    } catch let error as KilnError {
      let problems = generated.map { Set(CatalogProblems.of($0).map(\.field)) }
      // Type names and URLs come from the operator's file, not from a client: the message may
      // be long, so only its shape is checked.
      if let problem = refusalProblem(error, fieldPrefix: "job_types", allowedFields: problems, boundMessage: false) {
        return failure(problem)
      }
      return .refused(kind: "KilnError.invalidArgument")
    } catch let error as DecodingError {
      if generated != nil {
        return failure("a catalog JSONEncoder wrote does not decode: \(error)")
      }
      return .refused(kind: "DecodingError.\(Self.kind(of: error))")
    } catch {
      return failure("threw \(type(of: error)), neither KilnError nor DecodingError: \(error)")
    }
    return checkAccepted(catalog, generated: generated).map(failure) ?? .accepted
  }

  private func checkAccepted(_ catalog: JobTypeCatalog, generated: [JobType]?) -> String? {
    let types = catalog.types
    if let problem = CatalogProblems.of(types).first {
      return "accepted a catalog with a problem at \(problem.field): \(problem.problem)"
    }
    if let generated, generated != types {
      return "decoded \(types), not the generated \(generated)"
    }
    for type in types where catalog.type(named: type.name) != type {
      return "type(named: \(type.name.swiftLiteral)) does not find the type"
    }
    for type in types {
      let wire = Kiln_V1_JobType(type)
      let sameSteps = wire.steps.count == type.steps.count
        && zip(wire.steps, type.steps).allSatisfy {
          $0.name == $1.name && $0.kind == $1.kindName && Int($0.maxRetries) == $1.maxRetries
        }
      guard wire.name == type.name, sameSteps, wire.params.map(\.name) == type.params.map(\.name),
        wire.callbackURL == (type.callbackURL ?? "")
      else { return "the wire form of \(type.name.swiftLiteral) differs: \(wire)" }
    }
    do {
      let again = try JobTypeCatalog.decode(json: Data(try Self.encode(types)))
      if again.types != types { return "encode → decode changed the catalog: \(again.types)" }
    } catch {
      return "an accepted catalog, encoded again, is refused: \(error)"
    }
    return nil
  }

  private static func kind(of error: DecodingError) -> String {
    switch error {
    case .dataCorrupted: "dataCorrupted"
    case .keyNotFound: "keyNotFound"
    case .typeMismatch: "typeMismatch"
    case .valueNotFound: "valueNotFound"
    @unknown default: "other"
    }
  }

  /// A configuration file's shape, for encoding catalogs.
  private struct File: Encodable {
    var jobTypes: [JobType]
    enum CodingKeys: String, CodingKey { case jobTypes = "job_types" }
  }

  static func encode(_ types: [JobType]) throws -> [UInt8] {
    // Sorted keys: a dictionary's order differs between two equal dictionaries (Swift
    // seeds each storage's hashing), and input i must depend only on the seed and i.
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return Array(try encoder.encode(File(jobTypes: types)))
  }

  // MARK: - Generated catalogs

  static func randomTypes(using random: inout FuzzRandom) -> [JobType] {
    (0..<(1 + random.smallCount(max: 5))).map { _ in randomType(using: &random) }
  }

  private static func randomType(using random: inout FuzzRandom) -> JobType {
    let params = (0..<random.smallCount(max: 4)).map { _ in
      ParamDefinition(
        name: random.chance(3, in: 4) ? random.pick(["table", "rows", "x", "", "job_id"]) : FuzzText.string(using: &random),
        required: random.chance(1, in: 2),
        defaultValue: random.chance(1, in: 2) ? nil : random.pick(["", "5", "csv"]),
        description: random.chance(3, in: 4) ? "" : FuzzText.string(using: &random))
    }
    let steps = (0..<(random.chance(1, in: 10) ? 0 : 1 + random.smallCount(max: 5))).map { _ in
      randomStep(using: &random)
    }
    return JobType(
      name: random.chance(3, in: 4) ? random.pick(["INDEX_BUILD", "A", "B", "", "TABLE_EXPORT"]) : FuzzText.string(using: &random),
      description: random.chance(3, in: 4) ? "d" : FuzzText.string(using: &random),
      steps: steps, params: params,
      callbackURL: random.chance(3, in: 4) ? nil : random.pick([
        "http://h/x", "https://Hooks.example:8080/kiln?team=a", "http://[::1]:8080/", "HTTP://H/", "ftp://h/x",
        "/just/a/path", "http:///nohost", "http://h:0/", "http://h:65535/", "http://h:65536/", "http://h:-1/",
        "http://h:99999999999999999999/", "", "http://", "https://h:443", "http://user:pw@h/", "http://h/x y",
        "mailto:a@h", "http://é.example/", "javascript:alert(1)",
      ]))
  }

  private static func randomStep(using random: inout FuzzRandom) -> StepDefinition {
    let kind: StepDefinition.Kind
    if random.chance(1, in: 2) {
      kind = .sleep(durationMillis: random.chance(1, in: 2) ? 5 : random.extremeInt64())
    } else {
      let arguments = (0..<random.smallCount(max: 6)).map { _ in
        random.chance(4, in: 5)
          ? random.pick([
            "${table}", "${job_id}", "${project}", "${step}", "${attempt}", "${subject}", "${nope}", "plain", "${",
            "${}", "}", "a${x}b${rows}", "$${table}}", "${${table}}", "--t=${table}", "${ table}", "${TABLE}",
          ])
          : FuzzText.string(using: &random)
      }
      let environment = random.chance(3, in: 4) ? [:] : [FuzzText.string(using: &random): FuzzText.string(using: &random)]
      kind = .exec(
        program: random.pick(["/bin/echo", "/usr/bin/env", "echo", "", "/", "./x", " /bin/echo", "//x"]),
        arguments: arguments, environment: environment)
    }
    func number() -> Int64 { random.chance(2, in: 3) ? Int64(random.int(in: 0...3)) : random.extremeInt64() }
    return StepDefinition(
      name: random.chance(3, in: 4) ? random.pick(["S", "DUMP", "", "S"]) : FuzzText.string(using: &random),
      kind: kind, maxRetries: Int(number()), retryBackoffMillis: number(), timeoutMillis: number())
  }

  // MARK: - Seeds

  /// Real configurations: the README's example file, the reliability suite's types
  /// (`Reliability/harness.py` `job_types()`), the tests' examples.
  static let seedCatalogs: [String] = [
    #"""
    {
      "job_types": [
        {
          "name": "TABLE_EXPORT",
          "description": "Export a table to a file with a real program, then wait for a simulated upload",
          "params": [
            { "name": "table", "required": true, "description": "the table to export" },
            { "name": "rows", "default": "5", "description": "how many rows to write" }
          ],
          "steps": [
            {
              "name": "EXPORT",
              "exec": {
                "program": "/usr/bin/env",
                "arguments": ["sh", "examples/export.sh", "${table}", "${rows}"],
                "environment": { "EXPORT_DIR": "/tmp/kiln-exports" }
              },
              "max_retries": 2,
              "retry_backoff_ms": 1000,
              "timeout_ms": 600000
            },
            { "name": "UPLOAD", "sleep": { "duration_ms": 1500 } }
          ]
        }
      ]
    }
    """#,
    #"""
    {"job_types": [
      {"name": "RELY_EXEC", "description": "reliability suite: exec steps that record their pid, then sleep",
       "params": [{"name": "min_ms", "default": "300", "description": "shortest sleep of an exec step"},
                  {"name": "max_ms", "default": "3000", "description": "longest sleep of an exec step"},
                  {"name": "fail_pct", "default": "10", "description": "percent of exec steps that fail"}],
       "steps": [{"name": "PREPARE", "sleep": {"duration_ms": 100}},
                 {"name": "WORK", "exec": {"program": "/bin/sh", "arguments": ["-c", "sleep 1", "rely-step", "${min_ms}", "${max_ms}", "${fail_pct}"],
                  "environment": {"RELY_MARKERS": "/tmp/markers"}}, "max_retries": 0},
                 {"name": "MORE_WORK", "exec": {"program": "/bin/sh", "arguments": ["-c", "sleep 1", "rely-step", "${min_ms}", "${max_ms}", "${fail_pct}"],
                  "environment": {"RELY_MARKERS": "/tmp/markers"}}, "max_retries": 0},
                 {"name": "PUBLISH", "sleep": {"duration_ms": 100}}]},
      {"name": "RELY_QUICK", "description": "reliability suite: two sleep steps of 1 ms",
       "params": [{"name": "sleep_ms", "description": "duration of each sleep step"}, {"name": "fail_step", "description": "a step that fails"},
                  {"name": "fail_times", "description": "how many executions of it fail"}],
       "steps": [{"name": "ONE", "sleep": {"duration_ms": 1}}, {"name": "TWO", "sleep": {"duration_ms": 1}}]},
      {"name": "RELY_RACE", "description": "reliability suite: three sleep steps",
       "params": [{"name": "sleep_ms", "description": "duration of each sleep step"}],
       "steps": [{"name": "FIRST", "sleep": {"duration_ms": 150}}, {"name": "SECOND", "sleep": {"duration_ms": 150}},
                 {"name": "THIRD", "sleep": {"duration_ms": 150}}]}
    ]}
    """#,
    #"""
    { "job_types": [ { "name": "NOTIFY", "callback_url": "http://Hooks.example:8080/kiln?team=a",
      "steps": [ { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] },
      { "name": "QUIET", "steps": [ { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] } ] }
    """#,
    #"""
    { "job_types": [ { "name": "EXPORT", "description": "d",
      "params": [ { "name": "table", "required": true }, { "name": "fmt", "default": "csv" } ],
      "steps": [
        { "name": "DUMP", "exec": { "program": "/bin/echo", "arguments": ["${table}", "${fmt}", "${job_id}"] },
          "max_retries": 2, "retry_backoff_ms": 10 },
        { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] } ] }
    """#,
    #"{"job_types":[]}"#,
  ]
}

/// The problems of a catalog, found without `JobTypeCatalog`'s code: the rules of the
/// README's "Job types" section and of the wire (`StepType.max_retries` is an int32).
enum CatalogProblems {
  struct Problem {
    var field: String
    var problem: String
  }

  static func of(_ types: [JobType]) -> [Problem] {
    var problems: [Problem] = []
    var seen: Set<String> = []
    for type in types {
      let at = "job_types.\(type.name)"
      if type.name.isEmpty { problems.append(Problem(field: "job_types.name", problem: "empty name")) }
      if !type.name.isEmpty, !seen.insert(type.name).inserted {
        problems.append(Problem(field: at, problem: "defined twice"))
      }
      if type.steps.isEmpty { problems.append(Problem(field: "\(at).steps", problem: "no steps")) }
      if let url = type.callbackURL, !isCallbackURL(url) {
        problems.append(Problem(field: "\(at).callback_url", problem: "\(url) is not an http(s) URL with a host and a valid port"))
      }
      let declared = Set(type.params.map(\.name)).union(["job_id", "project", "subject", "attempt", "step"])
      for step in type.steps {
        let stepField = "\(at).steps.\(step.name)"
        if step.maxRetries < 0 || step.retryBackoffMillis < 0 || step.timeoutMillis < 0 {
          problems.append(Problem(field: stepField, problem: "negative retry or timeout"))
        }
        if step.maxRetries > Int(Int32.max) {
          problems.append(Problem(field: "\(stepField).max_retries", problem: "\(step.maxRetries) does not fit the wire's int32"))
        }
        if case .exec(let program, let arguments, _) = step.kind {
          if program.first != "/" {
            problems.append(Problem(field: "\(stepField).exec.program", problem: "\(program) is not absolute"))
          }
          for argument in arguments {
            for name in placeholders(in: argument) where !declared.contains(name) {
              problems.append(Problem(field: "\(stepField).exec.arguments", problem: "${\(name)} is not declared"))
            }
          }
        }
      }
    }
    return problems
  }

  /// `${name}` placeholders, read character by character (a `$` then a `{`, up to the next `}`).
  private static func placeholders(in text: String) -> [String] {
    let characters = Array(text)
    var names: [String] = []
    var index = 0
    while index + 1 < characters.count {
      guard characters[index] == "$", characters[index + 1] == "{" else {
        index += 1
        continue
      }
      guard let close = characters[(index + 2)...].firstIndex(of: "}") else { break }
      names.append(String(characters[(index + 2)..<close]))
      index = close + 1
    }
    return names
  }

  /// An absolute `http`/`https` URL with a host and a port in 1–65535.
  ///
  /// Parsed with `URLComponents`, as the server's HTTP client will be given it.
  private static func isCallbackURL(_ text: String) -> Bool {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
    else { return false }
    return components.port.map { (1...65535).contains($0) } ?? true
  }
}
