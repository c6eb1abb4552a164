import Foundation

/// Runs fuzz cases for a number of inputs from a seed, and counts what happened.
package enum FuzzRunner {
  /// Every case, in the order `kiln-fuzz` runs them.
  package static let allCases: [any FuzzCase] = [
    JobTypeCatalogFuzz(), PageTokenFuzz(), JobFilterFuzz(), WireValuesFuzz(), NamesFuzz(),
  ]

  /// The case named `name`, if there is one.
  package static func fuzzCase(named name: String) -> (any FuzzCase)? {
    allCases.first { $0.name == name }
  }

  /// Runs inputs `inputs` of `fuzzCase` seeded `seed`.
  ///
  /// Input `i` depends only on `(seed, case, i)`, so a failure replays alone with
  /// `--seed S --case NAME --first i --inputs 1`.
  ///
  /// - Parameters:
  ///   - keepFailures: How many failing inputs to keep (all are counted).
  ///   - progress: Called now and then with the number of inputs run so far.
  /// - Returns: The counts, and the first failures.
  package static func run(
    _ fuzzCase: any FuzzCase, seed: UInt64, inputs: Range<Int>, keepFailures: Int = 5,
    progress: ((FuzzCaseReport) -> Void)? = nil
  ) -> FuzzCaseReport {
    var report = FuzzCaseReport(name: fuzzCase.name, seed: seed)
    let start = ContinuousClock.now
    var lastProgress = start
    for index in inputs {
      var random = FuzzRandom(seed: seed, caseName: fuzzCase.name, index: index)
      switch fuzzCase.run(using: &random) {
      case .accepted:
        report.accepted += 1
      case .refused(let kind):
        report.refusals[kind, default: 0] += 1
      case .failed(let failure):
        report.failureCount += 1
        if report.failures.count < keepFailures { report.failures.append(.init(index: index, failure: failure)) }
      }
      report.inputs += 1
      if let progress, report.inputs & 0x3FF == 0 {
        let now = ContinuousClock.now
        if now - lastProgress >= .seconds(10) {
          lastProgress = now
          report.elapsed = now - start
          progress(report)
        }
      }
    }
    report.elapsed = ContinuousClock.now - start
    return report
  }
}

/// What a run of one case did.
package struct FuzzCaseReport: Sendable {
  /// A failing input: its index (for replay) and the property it broke.
  package struct IndexedFailure: Sendable {
    /// The input's index in the run.
    package var index: Int
    /// What went wrong.
    package var failure: FuzzFailure
  }

  /// The case's name.
  package var name: String
  /// The run's seed.
  package var seed: UInt64
  /// Inputs run.
  package var inputs = 0
  /// Inputs the product accepted (every property held).
  package var accepted = 0
  /// Inputs the product refused correctly, by kind of refusal.
  package var refusals: [String: Int] = [:]
  /// Inputs that broke a property.
  package var failureCount = 0
  /// The first failing inputs.
  package var failures: [IndexedFailure] = []
  /// How long the run took.
  package var elapsed: Duration = .zero

  /// Creates an empty report.
  package init(name: String, seed: UInt64) {
    self.name = name
    self.seed = seed
  }

  /// Inputs refused, whatever the kind.
  package var refused: Int { refusals.values.reduce(0, +) }

  /// One line of counts, then one line per kind of refusal.
  package var summary: String {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = seconds > 0 ? Int(Double(inputs) / seconds) : 0
    var lines = [
      "\(name): \(inputs) inputs in \(String(format: "%.1f", seconds)) s (\(rate)/s), seed \(seed): "
        + "\(accepted) accepted, \(refused) refused, \(failureCount) failures"
    ]
    for (kind, count) in refusals.sorted(by: { $0.value > $1.value }) {
      lines.append("  refused \(count): \(kind)")
    }
    return lines.joined(separator: "\n")
  }

  /// Each kept failure with the command that replays it.
  package var failureDetails: String {
    failures.map { item in
      "FAILURE \(name) input #\(item.index), seed \(seed) "
        + "(replay: kiln-fuzz --case \(name) --seed \(seed) --first \(item.index) --inputs 1)\n"
        + "  \(item.failure)"
    }.joined(separator: "\n")
  }
}
