import Foundation
import KilnCore
import Testing

@testable import KilnFuzzing

/// The fuzz cases' oracles catch what they claim to: a fuzz case whose checks cannot fail
/// would pass whatever the product did.
@Suite("Fuzz oracles", .timeLimit(.minutes(1)))
struct FuzzOracleTests {
  static func step(_ kind: StepDefinition.Kind, maxRetries: Int = 0) -> StepDefinition {
    StepDefinition(name: "S", kind: kind, maxRetries: maxRetries)
  }

  @Test("the catalog oracle finds each documented problem, and none in a valid catalog")
  func catalogProblems() {
    let sleep = Self.step(.sleep(durationMillis: 1))
    let cases: [([JobType], String?)] = [
      ([JobType(name: "A", steps: [sleep])], nil),
      ([JobType(name: "", steps: [sleep])], "job_types.name"),
      ([JobType(name: "A", steps: [sleep]), JobType(name: "A", steps: [sleep])], "job_types.A"),
      ([JobType(name: "A", steps: [])], "job_types.A.steps"),
      ([JobType(name: "A", steps: [Self.step(.exec(program: "echo", arguments: [], environment: [:]))])], "job_types.A.steps.S.exec.program"),
      ([JobType(name: "A", steps: [Self.step(.exec(program: "/bin/echo", arguments: ["${x}"], environment: [:]))])],
       "job_types.A.steps.S.exec.arguments"),
      ([JobType(name: "A", steps: [Self.step(.exec(program: "/bin/echo", arguments: ["${x}"], environment: [:]))],
        params: [ParamDefinition(name: "x")])], nil),
      ([JobType(name: "A", steps: [Self.step(.sleep(durationMillis: 1), maxRetries: -1)])], "job_types.A.steps.S"),
      ([JobType(name: "A", steps: [Self.step(.sleep(durationMillis: 1), maxRetries: Int(Int32.max) + 1)])],
       "job_types.A.steps.S.max_retries"),
      ([JobType(name: "A", steps: [sleep], callbackURL: "ftp://h/x")], "job_types.A.callback_url"),
      ([JobType(name: "A", steps: [sleep], callbackURL: "http://h:65536/")], "job_types.A.callback_url"),
    ]
    for (types, field) in cases {
      #expect(CatalogProblems.of(types).map(\.field) == (field.map { [$0] } ?? []), "\(types)")
    }
  }

  @Test("a refusal without a field, for another field, or with a huge message is a failure")
  func refusalShape() {
    #expect(refusalProblem(.invalidArgument(field: "page_token", "bad"), fieldPrefix: "page_token", allowedFields: ["page_token"]) == nil)
    #expect(refusalProblem(KilnError(code: .invalidArgument, message: "bad"), fieldPrefix: "page_token") != nil)
    #expect(refusalProblem(KilnError(code: .internalError, message: "x", details: [DetailKey.field: "f"]), fieldPrefix: "f") != nil)
    #expect(refusalProblem(.invalidArgument(field: "filter.key", "bad"), fieldPrefix: "filter.", allowedFields: ["filter.projects[0]"]) != nil)
    // KilnError's initializer bounds its message; one made longer afterwards is caught.
    var huge = KilnError.invalidArgument(field: "filter.key", "bad")
    huge.message += String(repeating: "x", count: 3000)
    #expect(refusalProblem(huge, fieldPrefix: "filter.") != nil)
  }

  @Test("an altered page token is always a different string, or the case counts it as unchanged")
  func alteredTokens() {
    var random = FuzzRandom(seed: 1)
    let token = "eyJ2ZXJzaW9uIjoxfQ.c2lnbmF0dXJl"
    let altered = (0..<500).map { _ in PageTokenFuzz.alter(token, using: &random) }
    #expect(altered.filter { $0 != token }.count > 450)
  }
}
