import Foundation
import KilnCore
import KilnProto
import KilnServer
import KilnWire
import SwiftProtobuf

/// Single wire values every request passes through: `Google_Protobuf_Timestamp.validatedDate`,
/// `Google_Protobuf_Duration.validatedDuration`, `Kiln_V1_JobStatus.domain(field:)`,
/// `Kiln_V1_JobAction.domain(field:)`.
///
/// Inputs: seconds and nanos at and around every boundary (Int64 and Int32 ends,
/// protobuf's limits, one second), else random; enum raw values in and out of range.
///
/// Properties: nothing traps; a value is accepted exactly when protobuf's rules (computed
/// here) allow it, and then equals the wire value (a date within a millisecond, a duration
/// exactly); a refusal is INVALID_ARGUMENT naming the field given, at most 2,048 bytes.
package struct WireValuesFuzz: FuzzCase {
  package let name = "wire-values"
  package let summary = "Timestamp.validatedDate, Duration.validatedDuration, status and action enums"

  package init() {}

  package func run(using random: inout FuzzRandom) -> FuzzOutcome {
    switch random.below(4) {
    case 0: timestamp(using: &random)
    case 1: duration(using: &random)
    case 2: status(using: &random)
    default: action(using: &random)
    }
  }

  private func refused(_ error: KilnError, field: String, input: String, kind: String) -> FuzzOutcome {
    refusalProblem(error, fieldPrefix: field, allowedFields: [field]).map { FuzzOutcome.failed(FuzzFailure($0, input: input)) }
      ?? .refused(kind: "invalid argument (\(kind))")
  }

  private func timestamp(using random: inout FuzzRandom) -> FuzzOutcome {
    let time = JobFilterFuzz.randomTimestamp(using: &random)
    let input = "Timestamp(seconds: \(time.seconds), nanos: \(time.nanos))"
    let valid = (-62_135_596_800...253_402_300_799).contains(time.seconds) && (0...999_999_999).contains(time.nanos)
    do throws(KilnError) {
      let date = try time.validatedDate(field: "t")
      guard valid else { return .failed(FuzzFailure("accepted as \(date)", input: input)) }
      let exact = Double(time.seconds) + Double(time.nanos) / 1e9
      guard abs(date.timeIntervalSince1970 - exact) <= 0.001 else {
        return .failed(FuzzFailure("became \(date.timeIntervalSince1970) s, not \(exact) s", input: input))
      }
      return .accepted
    } catch {
      guard !valid else { return .failed(FuzzFailure("a valid timestamp is refused: \(error)", input: input)) }
      return refused(error, field: "t", input: input, kind: "timestamp")
    }
  }

  private func duration(using random: inout FuzzRandom) -> FuzzOutcome {
    var wire = Google_Protobuf_Duration()
    wire.seconds = random.extremeInt64()
    wire.nanos = random.chance(1, in: 2) ? random.extremeInt32() : Int32.random(in: -999_999_999...999_999_999, using: &random)
    let input = "Duration(seconds: \(wire.seconds), nanos: \(wire.nanos))"
    let limit: Int64 = 315_576_000_000
    let valid = (-limit...limit).contains(wire.seconds) && (-999_999_999...999_999_999).contains(wire.nanos)
      && !(wire.seconds > 0 && wire.nanos < 0) && !(wire.seconds < 0 && wire.nanos > 0)
    do throws(KilnError) {
      let duration = try wire.validatedDuration(field: "d")
      guard valid else { return .failed(FuzzFailure("accepted as \(duration)", input: input)) }
      let expected = Duration(secondsComponent: wire.seconds, attosecondsComponent: Int64(wire.nanos) * 1_000_000_000)
      guard duration == expected else { return .failed(FuzzFailure("became \(duration), not \(expected)", input: input)) }
      return .accepted
    } catch {
      guard !valid else { return .failed(FuzzFailure("a valid duration is refused: \(error)", input: input)) }
      return refused(error, field: "d", input: input, kind: "duration")
    }
  }

  private func rawValue(using random: inout FuzzRandom) -> Int {
    random.chance(3, in: 4) ? random.int(in: -1...8) : Int(random.extremeInt32())
  }

  private func status(using random: inout FuzzRandom) -> FuzzOutcome {
    let raw = rawValue(using: &random)
    let wire = Kiln_V1_JobStatus(rawValue: raw) ?? .unspecified
    let names = [1: "PENDING", 2: "RUNNING", 3: "PAUSED", 4: "ERROR", 5: "DISCARDED", 6: "FINISHED"]
    do throws(KilnError) {
      let status = try wire.domain(field: "statuses[3]")
      guard status.rawValue == names[raw] else {
        return .failed(FuzzFailure("accepted as \(status)", input: "JobStatus raw value \(raw)"))
      }
      return .accepted
    } catch {
      guard names[raw] == nil else { return .failed(FuzzFailure("refused: \(error)", input: "JobStatus raw value \(raw)")) }
      return refused(error, field: "statuses[3]", input: "JobStatus raw value \(raw)", kind: "status")
    }
  }

  private func action(using random: inout FuzzRandom) -> FuzzOutcome {
    let raw = rawValue(using: &random)
    let wire = Kiln_V1_JobAction(rawValue: raw) ?? .unspecified
    let names = [1: "pause", 2: "resume", 3: "restart", 4: "discard", 5: "delete"]
    do throws(KilnError) {
      let action = try wire.domain(field: "action")
      guard action.verb == names[raw] else {
        return .failed(FuzzFailure("accepted as \(action)", input: "JobAction raw value \(raw)"))
      }
      return .accepted
    } catch {
      guard names[raw] == nil else { return .failed(FuzzFailure("refused: \(error)", input: "JobAction raw value \(raw)")) }
      return refused(error, field: "action", input: "JobAction raw value \(raw)", kind: "action")
    }
  }
}
