/// Mutates byte strings the way coverage-less fuzzers do: bit flips, random bytes, cut,
/// duplicated and spliced ranges, tokens from a dictionary, boundary numbers, deep nesting,
/// invalid UTF-8 and huge runs.
package struct ByteMutator: Sendable {
  /// Fragments worth inserting: keywords, punctuation and values of the format under test.
  package var dictionary: [[UInt8]]
  /// Outputs are cut to this many bytes.
  package var maxLength: Int

  /// Creates a mutator with a dictionary of tokens.
  package init(dictionary: [String], maxLength: Int = 1 << 17) {
    self.dictionary = dictionary.map { Array($0.utf8) } + Self.invalidUTF8
    self.maxLength = maxLength
  }

  /// Byte sequences that are not UTF-8: a lone continuation byte, an overlong NUL, a
  /// UTF-16 surrogate, a cut-off sequence, bytes UTF-8 never uses.
  static let invalidUTF8: [[UInt8]] = [[0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF], [0xFE, 0xFF], [0xF4, 0x90, 0x80, 0x80]]

  /// `input` with one to four mutations applied; `other` is spliced in by some of them.
  package func mutate(_ input: [UInt8], splicing other: [UInt8] = [], using random: inout FuzzRandom) -> [UInt8] {
    var bytes = input
    let rounds = random.chance(3, in: 4) ? 1 : random.int(in: 2...4)
    for _ in 0..<rounds {
      mutateOnce(&bytes, other: other, using: &random)
    }
    if bytes.count > maxLength { bytes.removeLast(bytes.count - maxLength) }
    return bytes
  }

  private func mutateOnce(_ bytes: inout [UInt8], other: [UInt8], using random: inout FuzzRandom) {
    let position = random.int(in: 0...bytes.count)
    switch random.below(14) {
    case 0 where !bytes.isEmpty:  // flip one bit
      let index = random.below(bytes.count)
      bytes[index] ^= 1 << UInt8(random.below(8))
    case 1 where !bytes.isEmpty:  // one random byte
      bytes[random.below(bytes.count)] = UInt8.random(in: 0...255, using: &random)
    case 2 where !bytes.isEmpty:  // delete a range
      let start = random.below(bytes.count)
      let end = min(bytes.count, start + 1 + random.smallCount(max: 64))
      bytes.removeSubrange(start..<end)
    case 3:  // insert random bytes
      let count = 1 + random.smallCount(max: 16)
      bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
    case 4 where !bytes.isEmpty:  // duplicate a range elsewhere
      let start = random.below(bytes.count)
      let end = min(bytes.count, start + 1 + random.smallCount(max: 256))
      let chunk = Array(bytes[start..<end])
      bytes.insert(contentsOf: chunk, at: random.int(in: 0...bytes.count))
    case 5 where !bytes.isEmpty:  // truncate
      bytes.removeLast(random.int(in: 1...bytes.count))
    case 6, 7:  // insert a token
      bytes.insert(contentsOf: random.pick(dictionary), at: position)
    case 8 where !bytes.isEmpty:  // replace a range with a token
      let start = random.below(bytes.count)
      let end = min(bytes.count, start + 1 + random.smallCount(max: 8))
      bytes.replaceSubrange(start..<end, with: random.pick(dictionary))
    case 9:  // replace a run of digits (or insert) with a boundary number
      let number = Array(Self.boundaryNumber(using: &random).utf8)
      if let run = Self.digitRun(in: bytes, near: position) {
        bytes.replaceSubrange(run, with: number)
      } else {
        bytes.insert(contentsOf: number, at: position)
      }
    case 10:  // deep nesting, bounded
      let depth = random.chance(1, in: 8) ? random.int(in: 100...2_000) : random.int(in: 1...32)
      let (open, close): (UInt8, UInt8) = random.chance(1, in: 2) ? (0x5B, 0x5D) : (0x7B, 0x7D)
      bytes.insert(contentsOf: [UInt8](repeating: close, count: random.chance(1, in: 2) ? depth : 0), at: position)
      bytes.insert(contentsOf: [UInt8](repeating: open, count: depth), at: position)
    case 11:  // a huge run of one byte (a long string or number)
      let count = random.chance(1, in: 16) ? random.int(in: 1_000...70_000) : random.int(in: 16...600)
      bytes.insert(contentsOf: [UInt8](repeating: random.pick([0x61, 0x30, 0x20, 0x5C, 0xE9]), count: count), at: position)
    case 12 where !other.isEmpty:  // splice in part of another input
      let start = random.below(other.count)
      let end = min(other.count, start + 1 + random.below(other.count - start))
      bytes.insert(contentsOf: other[start..<end], at: position)
    default:  // swap two bytes
      guard bytes.count >= 2 else { return }
      bytes.swapAt(random.below(bytes.count), random.below(bytes.count))
    }
  }

  /// A number at a boundary of the types a parser may read it into.
  static func boundaryNumber(using random: inout FuzzRandom) -> String {
    random.pick([
      String(random.extremeInt64()), "9223372036854775808", "-9223372036854775809", "18446744073709551616",
      "2147483648", "4294967296", "1e309", "-1e309", "1e18", "0.5", "-0", "1E2", "00", "0x10", "NaN", "Infinity",
      String(repeating: "9", count: 400), "1." + String(repeating: "0", count: 300) + "1",
    ])
  }

  private static func digitRun(in bytes: [UInt8], near position: Int) -> Range<Int>? {
    let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) || byte == 0x2D }
    guard let start = bytes[min(position, bytes.count)...].firstIndex(where: isDigit) else { return nil }
    let end = bytes[start...].firstIndex(where: { !isDigit($0) }) ?? bytes.count
    return start..<end
  }
}
