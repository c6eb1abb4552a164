import KilnCore

/// The longest error message a hostile input may cause, in bytes: errors go back to the
/// caller and into logs, so one must never echo an unbounded input.
let maxMessageBytes = InputLimits.maxMessageBytes

/// The longest field path a refusal names (``KilnError/invalidArgument(field:_:)`` cuts
/// longer ones, which can quote a client's key, with `…`).
let maxFieldBytes = 128

/// Checks a refusal's shape: INVALID_ARGUMENT, a `kiln-field` detail, a message that starts
/// with the field and is bounded.
///
/// - Parameters:
///   - error: What the product threw.
///   - fieldPrefix: The field (or its parent) the refusal must name.
///   - allowedFields: When given, the field must be one of these (the problems the input has).
/// - Returns: The failure, or `nil` when the refusal is well formed.
func refusalProblem(
  _ error: KilnError, fieldPrefix: String, allowedFields: Set<String>? = nil, boundMessage: Bool = true
) -> String? {
  guard error.code == .invalidArgument else { return "refused with \(error.code), not invalid argument: \(error)" }
  guard let field = error.details[DetailKey.field], !field.isEmpty else {
    return "refusal names no field (\(DetailKey.field) detail): \(error)"
  }
  guard field.hasPrefix(fieldPrefix) else { return "refusal names field \(field), not one under \(fieldPrefix)" }
  // By bytes: a quoted value that starts with a combining mark joins the ": " before it
  // into one Character, and String.hasPrefix compares Characters.
  guard error.message.utf8.starts(with: (field + ": ").utf8) else { return "message does not start with its field \(field): \(error.message)" }
  if boundMessage, error.message.utf8.count > maxMessageBytes {
    return "message is \(error.message.utf8.count) bytes, above \(maxMessageBytes): \(error.message.fuzzPrefix(bytes: 200))…"
  }
  if let allowedFields, !allowedFields.contains(field), !allowedFields.map({ $0.bounded(toBytes: maxFieldBytes) }).contains(field) {
    let expected = allowedFields.isEmpty ? "none (the input is valid)" : allowedFields.sorted().joined(separator: ", ")
    return "refused for \(field) (\(error.message.fuzzPrefix(bytes: 300))), but the input's problems are: \(expected)"
  }
  return nil
}

extension String {
  /// At most `count` bytes of the string, cut at a character boundary (for failure reports).
  func fuzzPrefix(bytes count: Int) -> String {
    var result = ""
    var used = 0
    for character in self {
      used += character.utf8.count
      if used > count { break }
      result.append(character)
    }
    return result
  }

  /// The string as a Swift literal, bounded: what a regression test would paste.
  var swiftLiteral: String {
    var literal = "\""
    for scalar in unicodeScalars.prefix(4_000) {
      switch scalar {
      case "\"": literal += "\\\""
      case "\\": literal += "\\\\"
      case "\n": literal += "\\n"
      case "\t": literal += "\\t"
      case " "..."~": literal.unicodeScalars.append(scalar)
      default: literal += "\\u{\(String(scalar.value, radix: 16))}"
      }
    }
    literal += "\""
    if unicodeScalars.count > 4_000 { literal += " /* first 4000 of \(unicodeScalars.count) scalars */" }
    return literal
  }
}

extension Array where Element == UInt8 {
  /// The bytes as hex, bounded, and as text when they are mostly printable.
  var fuzzDescription: String {
    let hex = prefix(8_000).map { byte in
      let digits = String(byte, radix: 16)
      return byte < 16 ? "0" + digits : digits
    }.joined()
    let more = count > 8_000 ? " (first 8000 of \(count) bytes)" : ""
    return "hex \(hex)\(more)\n    as text: \(String(decoding: self, as: UTF8.self).swiftLiteral)"
  }
}
