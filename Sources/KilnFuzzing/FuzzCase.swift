/// One fuzz target: makes an input from a seeded generator, feeds it to product code and
/// checks the properties that must hold whatever the input.
package protocol FuzzCase: Sendable {
  /// The name `kiln-fuzz --case` takes, e.g. `job-type-catalog`.
  var name: String { get }
  /// What is fuzzed and which properties are checked, for people.
  var summary: String { get }
  /// Makes one input from `random`, runs it and checks it.
  func run(using random: inout FuzzRandom) -> FuzzOutcome
}

/// What one input did.
package enum FuzzOutcome: Sendable, Equatable {
  /// The product accepted the input, and every property of an accepted input held.
  case accepted
  /// The product refused the input as it should (the kind names how, e.g.
  /// `invalid argument` or `DecodingError.dataCorrupted`).
  case refused(kind: String)
  /// A property did not hold.
  case failed(FuzzFailure)
}

/// A property that did not hold, with the input that broke it.
package struct FuzzFailure: Error, Sendable, Equatable, CustomStringConvertible {
  /// The property, and how it was broken.
  package var property: String
  /// The input, as a Swift literal or hex, for a regression test.
  package var input: String

  /// Creates a failure.
  package init(_ property: String, input: String) {
    self.property = property
    self.input = input
  }

  package var description: String { "\(property)\n    input: \(input)" }
}
