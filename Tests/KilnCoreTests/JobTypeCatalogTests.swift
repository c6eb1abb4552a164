import Foundation
import KilnCore
import Testing

@Suite("Job types and their configuration", .timeLimit(.minutes(3)))
struct JobTypeCatalogTests {
  @Test("the built-in types are Kylin's")
  func builtin() {
    #expect(
      JobTypeCatalog.builtin.types.map(\.name) == [
        "INDEX_BUILD", "INC_BUILD", "INDEX_MERGE", "INDEX_REFRESH", "SNAPSHOT_BUILD", "TABLE_SAMPLING",
      ])
    #expect(JobTypeCatalog.builtin.type(named: "INDEX_BUILD")?.steps.count == 4)
  }

  @Test("a configuration file decodes with sleep and exec steps")
  func decode() throws {
    let json = """
      { "job_types": [ { "name": "EXPORT", "description": "d",
        "params": [ { "name": "table", "required": true }, { "name": "fmt", "default": "csv" } ],
        "steps": [
          { "name": "DUMP", "exec": { "program": "/bin/echo", "arguments": ["${table}", "${fmt}", "${job_id}"] },
            "max_retries": 2, "retry_backoff_ms": 10 },
          { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] } ] }
      """
    let catalog = try JobTypeCatalog.decode(json: Data(json.utf8))
    let type = try #require(catalog.type(named: "EXPORT"))
    #expect(type.steps[0].maxRetries == 2)
    #expect(type.steps[0].kind == .exec(program: "/bin/echo", arguments: ["${table}", "${fmt}", "${job_id}"], environment: [:]))
    #expect(type.steps[1].kind == .sleep(durationMillis: 5))
    #expect(try type.resolveParams(["table": "t"]) == ["table": "t", "fmt": "csv"])
    let error = #expect(throws: KilnError.self) { try type.resolveParams([:]) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.hasPrefix("params.table") == true)
  }

  @Test(
    "malformed configurations are refused with the offending field",
    arguments: [
      (#"{"job_types":[{"name":"A","steps":[]}]}"#, "job_types.A.steps"),
      (#"{"job_types":[{"name":"A","steps":[{"name":"S","sleep":{"duration_ms":1}}]},{"name":"A","steps":[{"name":"S","sleep":{"duration_ms":1}}]}]}"#, "job_types.A"),
      (#"{"job_types":[{"name":"A","steps":[{"name":"S","exec":{"program":"echo"}}]}]}"#, "exec.program"),
      (#"{"job_types":[{"name":"A","steps":[{"name":"S","exec":{"program":"/bin/echo","arguments":["${nope}"]}}]}]}"#, "${nope}"),
      (#"{"job_types":[{"name":"A","callback_url":"ftp://h/x","steps":[{"name":"S","sleep":{"duration_ms":1}}]}]}"#, "job_types.A.callback_url"),
      (#"{"job_types":[{"name":"A","callback_url":"/just/a/path","steps":[{"name":"S","sleep":{"duration_ms":1}}]}]}"#, "callback_url"),
      (#"{"job_types":[{"name":"A","callback_url":"http:///nohost","steps":[{"name":"S","sleep":{"duration_ms":1}}]}]}"#, "has no host"),
      (#"{"job_types":[{"name":"A","steps":[{"name":"S","sleep":{"duration_ms":1},"max_retries":2147483648}]}]}"#, "steps.S.max_retries"),
    ])
  func malformed(json: String, mention: String) {
    let error = #expect(throws: KilnError.self) { try JobTypeCatalog.decode(json: Data(json.utf8)) }
    #expect(error?.message.contains(mention) == true, "\(String(describing: error))")
  }

  @Test("a job type may name a callback URL; receivers are grouped by origin")
  func callbackURL() throws {
    let json = """
      { "job_types": [ { "name": "NOTIFY", "callback_url": "http://Hooks.example:8080/kiln?team=a",
        "steps": [ { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] },
        { "name": "QUIET", "steps": [ { "name": "WAIT", "sleep": { "duration_ms": 5 } } ] } ] }
      """
    let catalog = try JobTypeCatalog.decode(json: Data(json.utf8))
    #expect(catalog.type(named: "NOTIFY")?.callbackURL == "http://Hooks.example:8080/kiln?team=a")
    #expect(catalog.type(named: "QUIET")?.callbackURL == nil)
    #expect(CallbackURL.origin(of: "http://Hooks.example:8080/kiln?team=a") == "http://hooks.example:8080")
    #expect(CallbackURL.origin(of: "http://h/x") == CallbackURL.origin(of: "http://h:80/y"))
    #expect(CallbackURL.origin(of: "https://h/x") == "https://h:443")
  }

  @Test("placeholders render per argument, never splitting a value")
  func templates() {
    #expect(ArgumentTemplate.placeholders(in: "a${x}b${y}") == ["x", "y"])
    #expect(ArgumentTemplate.render("--t=${x}", values: ["x": "a b; rm -rf /"]) == "--t=a b; rm -rf /")
    #expect(ArgumentTemplate.render("${missing}!", values: [:]) == "!")
    #expect(ArgumentTemplate.render("no placeholders", values: ["x": "1"]) == "no placeholders")
  }
}

@Suite("Job filters", .timeLimit(.minutes(3)))
struct JobFilterTests {
  let job = Job(
    id: "abc-123", project: "p1", jobType: "INDEX_BUILD", subject: "Sales_Model", status: .running, submitter: "u",
    createTime: Date(timeIntervalSince1970: 100), updateTime: Date(timeIntervalSince1970: 100))

  @Test("each field narrows the set")
  func matches() {
    #expect(JobFilter().matches(job))
    #expect(JobFilter(projects: ["p1", "p2"]).matches(job))
    #expect(!JobFilter(projects: ["p2"]).matches(job))
    #expect(JobFilter(statuses: [.running]).matches(job))
    #expect(!JobFilter(statuses: [.paused]).matches(job))
    #expect(!JobFilter(jobTypes: ["INC_BUILD"]).matches(job))
    #expect(JobFilter(subject: "Sales_Model").matches(job))
    #expect(!JobFilter(subject: "sales_model").matches(job))
    #expect(JobFilter(key: "sales").matches(job))
    #expect(JobFilter(key: "C-12").matches(job))
    #expect(!JobFilter(key: "zzz").matches(job))
    #expect(JobFilter(createdFrom: Date(timeIntervalSince1970: 100)).matches(job))
    #expect(!JobFilter(createdTo: Date(timeIntervalSince1970: 100)).matches(job))
  }
}
