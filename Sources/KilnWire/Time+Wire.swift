public import Foundation
public import KilnCore
public import SwiftProtobuf

extension Google_Protobuf_Timestamp {
  /// The first second protobuf's `Timestamp` allows: 0001-01-01T00:00:00Z.
  public static let minimumSeconds: Int64 = -62_135_596_800
  /// The last second protobuf's `Timestamp` allows: 9999-12-31T23:59:59Z.
  public static let maximumSeconds: Int64 = 253_402_300_799

  /// The date, if the timestamp is in protobuf's valid range (years 1 to 9999, nanos
  /// 0 to 999,999,999).
  ///
  /// Every timestamp from the wire passes through here: an out-of-range one used to
  /// trap in `Timestamp.date` or in the conversion to stored milliseconds.
  /// - Parameter field: The request field, for the error.
  /// - Throws: ``KilnError`` INVALID_ARGUMENT naming `field` and the valid range.
  public func validatedDate(field: String) throws(KilnError) -> Date {
    guard (Self.minimumSeconds...Self.maximumSeconds).contains(seconds) else {
      throw .invalidArgument(
        field: field, "seconds \(seconds) is outside 0001-01-01T00:00:00Z…9999-12-31T23:59:59Z (\(Self.minimumSeconds)…\(Self.maximumSeconds))")
    }
    guard (0...999_999_999).contains(nanos) else {
      throw .invalidArgument(field: field, "nanos \(nanos) is outside 0…999999999")
    }
    return date
  }
}

extension Google_Protobuf_Duration {
  /// The longest duration protobuf's `Duration` allows, in seconds (±10,000 years).
  public static let maximumSeconds: Int64 = 315_576_000_000

  /// The duration, if it is in protobuf's valid range (±315,576,000,000 s, nanos of
  /// the same sign as seconds and below one second).
  ///
  /// - Parameter field: The request field, for the error.
  /// - Throws: ``KilnError`` INVALID_ARGUMENT naming `field` and the valid range.
  public func validatedDuration(field: String) throws(KilnError) -> Duration {
    guard (-Self.maximumSeconds...Self.maximumSeconds).contains(seconds) else {
      throw .invalidArgument(field: field, "seconds \(seconds) is outside ±\(Self.maximumSeconds)")
    }
    guard (-999_999_999...999_999_999).contains(nanos), seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0) else {
      throw .invalidArgument(field: field, "nanos \(nanos) must be below one second and of the sign of seconds")
    }
    return .seconds(seconds) + .nanoseconds(Int64(nanos))
  }
}
