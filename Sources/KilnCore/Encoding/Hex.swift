extension Sequence<UInt8> {
  /// The bytes as lowercase hexadecimal, two digits each.
  ///
  /// By hand rather than `String(format: "%02x")` per byte: that goes through
  /// Foundation's format parser once a byte, and hashing a bearer token that way was
  /// ≈6% of a whole GetJob on the server (perf, release).
  package var lowercaseHex: String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(underestimatedCount * 2)
    for byte in self {
      bytes.append(digits[Int(byte >> 4)])
      bytes.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
