extension Sequence<UInt8> {
  /// The bytes as lowercase hexadecimal, two digits each.
  ///
  /// By hand rather than `String(format: "%02x")` per byte: that goes through
  /// Foundation's format parser once a byte, and hashing a bearer token that way was
  /// ≈6% of a whole GetJob on the server (perf, release).
  package var lowercaseHex: String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(underestimatedCount * 2)
    for byte in self {
      bytes.append(hexDigit(byte >> 4))
      bytes.append(hexDigit(byte & 0x0f))
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// The ASCII digit of a value 0–15.
private func hexDigit(_ value: UInt8) -> UInt8 {
  value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
}
