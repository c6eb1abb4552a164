import ArgumentParser
import Foundation
import KilnFuzzing

/// `kiln-fuzz`: the fuzz suite for long runs. Run it in release:
/// `swift run -c release kiln-fuzz --inputs 10000000`.
///
/// Every case runs `--inputs` inputs; input `i` of a case depends only on the seed and `i`,
/// so a failure printed with its seed and index replays alone. Exit status 1 on any failure.
@main
struct KilnFuzz: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kiln-fuzz",
    abstract: "Seeded, mutation-based fuzzing of request validation, page tokens, filters and the job-type parser.")

  @Option(help: "Inputs per case.")
  var inputs = 10_000_000

  @Option(help: "The seed (default: from the clock, printed so that the run replays).")
  var seed: UInt64?

  @Option(name: .customLong("case"), help: "Run only this case (see --list).")
  var caseName: String?

  @Option(help: "The index of the first input (with --seed, replays one input: --first I --inputs 1).")
  var first = 0

  @Flag(help: "List the cases and exit.")
  var list = false

  func validate() throws {
    guard inputs >= 0, first >= 0 else { throw ValidationError("--inputs and --first must not be negative") }
    if let caseName, FuzzRunner.fuzzCase(named: caseName) == nil {
      throw ValidationError("no case \(caseName); one of \(FuzzRunner.allCases.map(\.name).joined(separator: ", "))")
    }
  }

  func run() throws {
    if list {
      for fuzzCase in FuzzRunner.allCases { print("\(fuzzCase.name)\t\(fuzzCase.summary)") }
      return
    }
    let seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
    let cases = caseName.map { name in FuzzRunner.allCases.filter { $0.name == name } } ?? FuzzRunner.allCases
    print("kiln-fuzz: seed \(seed), \(inputs) inputs per case from #\(first), cases: \(cases.map(\.name).joined(separator: ", "))")
    var reports: [FuzzCaseReport] = []
    for fuzzCase in cases {
      let report = FuzzRunner.run(fuzzCase, seed: seed, inputs: first..<(first + inputs)) { progress in
        // Progress goes to stderr, which is unbuffered, so that it shows when stdout is piped.
        FileHandle.standardError.write(Data("  \(progress.name): \(progress.inputs)/\(inputs) inputs, \(progress.failureCount) failures\n".utf8))
      }
      print(report.summary)
      if report.failureCount > 0 { print(report.failureDetails) }
      reports.append(report)
    }
    let failures = reports.map(\.failureCount).reduce(0, +)
    print("kiln-fuzz: \(failures == 0 ? "no failures" : "\(failures) failures"), seed \(seed)")
    if failures > 0 { throw ExitCode(1) }
  }
}
