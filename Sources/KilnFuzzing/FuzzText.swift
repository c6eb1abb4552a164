/// Random text for fields: boundary lengths, the characters a rule allows and the ones it
/// forbids, controls, combining marks, emoji, and bytes repaired from invalid UTF-8.
package enum FuzzText {
  /// Characters that name rules treat differently.
  static let alphabet: [String] = [
    "a", "Z", "0", "9", "_", "-", ".", "@", " ", "/", ":", "*", "%", "$", "{", "}", "\"", "\\",
    "\u{0}", "\n", "\t", "\u{7F}", "\u{85}", "\u{9F}", "\u{A0}", "é", "e\u{301}", "\u{200B}", "\u{202E}",
    "\u{FEFF}", "\u{FFFD}", "ß", "İ", "日", "👩‍💻", "🇫🇷",
  ]

  /// A random string, most often short, sometimes around `boundaries` (in bytes).
  package static func string(using random: inout FuzzRandom, boundaries: [Int] = [64, 128, 256]) -> String {
    switch random.below(10) {
    case 0:
      return ""
    case 1:  // repaired invalid UTF-8, as `String(decoding:as:)` does for bytes off the wire
      let bytes = (0..<random.smallCount(max: 40)).map { _ in UInt8.random(in: 0...255, using: &random) }
      return String(decoding: bytes, as: UTF8.self)
    case 2, 3:  // near a length boundary, in allowed characters, maybe ending in a multi-byte one
      let target = random.pick(boundaries) + random.int(in: -2...2)
      var text = String(repeating: random.pick(["a", "Z", "9", "_"]), count: max(0, target - 2))
      text += random.pick(["ab", "é", "日", "a", ""])
      return text
    case 4:  // huge
      return String(repeating: random.pick(["a", "é", "\u{0}", "👩‍💻"]), count: random.int(in: 300...5_000))
    default:
      var text = ""
      for _ in 0..<(1 + random.smallCount(max: 70)) {
        text += random.chance(2, in: 3) ? random.pick(["a", "b", "Z", "7", "_", "-", "."]) : random.pick(alphabet)
      }
      return text
    }
  }
}
