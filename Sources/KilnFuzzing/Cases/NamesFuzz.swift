import KilnCore

/// The rules for names callers choose: `Names.checkProject`, `checkUser`, `checkSubject`.
///
/// (`InputLimits` — params, ids, `bounded(toBytes:)` — is not on this branch yet; its case
/// joins this one when it lands.)
///
/// Inputs: strings at the length limits (64 and 256 bytes, ending in a multi-byte
/// character), the allowed characters, their neighbours, controls (C0, DEL, C1), format
/// characters, combining marks, emoji, repaired invalid UTF-8, huge strings.
///
/// Properties: nothing traps; a name is accepted exactly when the README's rule, computed
/// here over Unicode scalars and UTF-8 bytes, allows it; a refusal is INVALID_ARGUMENT
/// naming the field given, its message at most 2,048 bytes whatever the name's length.
package struct NamesFuzz: FuzzCase {
  package let name = "names"
  package let summary = "Names.checkProject, checkUser, checkSubject against the documented rules"

  package init() {}

  private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    (0x30...0x39).contains(scalar.value) || (0x41...0x5A).contains(scalar.value) || (0x61...0x7A).contains(scalar.value)
  }

  package func run(using random: inout FuzzRandom) -> FuzzOutcome {
    let text = FuzzText.string(using: &random, boundaries: [64, 256])
    let which = random.below(3)
    let field = random.pick(["project", "user", "subject", "projects[2]"])
    let bytes = text.utf8.count
    let valid: Bool
    let check: (String, String) throws(KilnError) -> Void
    switch which {
    case 0:
      valid = bytes >= 1 && bytes <= 64 && text.unicodeScalars.allSatisfy { Self.isASCIIAlphanumeric($0) || "_-.".unicodeScalars.contains($0) }
      check = Names.checkProject
    case 1:
      valid = bytes >= 1 && bytes <= 64 && text.unicodeScalars.allSatisfy { Self.isASCIIAlphanumeric($0) || "_-.@".unicodeScalars.contains($0) }
      check = Names.checkUser
    default:
      valid = bytes >= 1 && bytes <= 256
        && !text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
      check = Names.checkSubject
    }
    let rule = ["project", "user", "subject"][which]
    var input: String { "\(rule) name \(text.swiftLiteral) (\(bytes) bytes), field \(field)" }
    do throws(KilnError) {
      try check(text, field)
      return valid ? .accepted : .failed(FuzzFailure("accepted an invalid \(rule) name", input: input))
    } catch {
      guard !valid else { return .failed(FuzzFailure("refused a valid \(rule) name: \(error)", input: input)) }
      return refusalProblem(error, fieldPrefix: field, allowedFields: [field]).map { FuzzOutcome.failed(FuzzFailure($0, input: input)) }
        ?? .refused(kind: "invalid argument (\(rule))")
    }
  }
}
