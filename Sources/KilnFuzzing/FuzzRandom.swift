/// A seeded random number generator (SplitMix64): the same seed gives the same inputs on
/// every machine and every run, so that any failure replays from its seed and index.
package struct FuzzRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Creates a generator from a seed.
  package init(seed: UInt64) {
    state = seed
  }

  /// The generator for input `index` of the case named `caseName` in a run seeded `seed`.
  ///
  /// Each input gets its own generator, so input 9,000,000 replays without running the
  /// 8,999,999 before it.
  package init(seed: UInt64, caseName: String, index: Int) {
    var mixer = FuzzRandom(seed: seed ^ Self.stableHash(caseName))
    _ = mixer.next()
    var state = mixer.next() ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    state = Self.mix(state)
    self.init(seed: state)
  }

  /// The next 64 random bits.
  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// A random integer in `0..<bound` (`bound` > 0).
  package mutating func below(_ bound: Int) -> Int {
    Int.random(in: 0..<bound, using: &self)
  }

  /// A random integer in `range`.
  package mutating func int(in range: ClosedRange<Int>) -> Int {
    Int.random(in: range, using: &self)
  }

  /// True with probability `numerator / denominator`.
  package mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
    below(denominator) < numerator
  }

  /// A random element of a non-empty array.
  package mutating func pick<Element>(_ elements: [Element]) -> Element {
    elements[below(elements.count)]
  }

  /// A small count, most often 0–3, rarely up to `max`: fuzzers find more with small inputs.
  package mutating func smallCount(max: Int) -> Int {
    switch below(16) {
    case 0..<13: min(below(4), max)
    case 13..<15: min(below(16), max)
    default: below(max + 1)
    }
  }

  /// An `Int64` that is most often at or next to a boundary (0, ±1, the ends of Int32 and
  /// Int64, protobuf's Timestamp and Duration limits), else random.
  package mutating func extremeInt64() -> Int64 {
    if chance(1, in: 4) { return Int64(bitPattern: next()) }
    let edges: [Int64] = [
      0, 1, -1, 2, 1000, 999, 1001,
      Int64(Int32.max), Int64(Int32.max) + 1, Int64(Int32.min), Int64(Int32.min) - 1, Int64(UInt32.max),
      Int64.max, Int64.max - 1, Int64.min, Int64.min + 1, Int64.max / 1000, Int64.max / 1000 + 1,
      -62_135_596_800, -62_135_596_801, 253_402_300_799, 253_402_300_800,
      315_576_000_000, 315_576_000_001, -315_576_000_000, -315_576_000_001,
      999_999_999, 1_000_000_000, -999_999_999, -1_000_000_000,
    ]
    let edge = pick(edges)
    return chance(1, in: 4) ? edge &+ Int64(int(in: -3...3)) : edge
  }

  /// An `Int32` that is most often at or next to a boundary, else random.
  package mutating func extremeInt32() -> Int32 {
    if chance(1, in: 2) { return Int32(truncatingIfNeeded: extremeInt64()) }
    return pick([0, 1, -1, 5, 6, 7, 8, 999_999_999, 1_000_000_000, -999_999_999, -1_000_000_000, Int32.max, Int32.min])
  }

  private static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// FNV-1a: `Hasher` is seeded per process, which would make runs unrepeatable.
  private static func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
    }
    return hash
  }
}
