import Crypto
import Foundation
import KilnCore
import SwiftProtobuf

/// Idempotency keys for mutating requests.
enum RequestFingerprint {
  /// The key for a request: its request_id scoped by the caller, and a digest of the
  /// method and of the request's content without the request_id. `nil` when the
  /// request has no request_id (it is then not deduplicated).
  static func key<M: SwiftProtobuf.Message>(method: String, requestID: String, request: M, caller: Caller) throws
    -> IdempotencyKey?
  {
    guard !requestID.isEmpty else { return nil }
    guard requestID.utf8.count <= 128 else {
      throw KilnError.invalidArgument(field: "request_id", "is longer than 128 bytes")
    }
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    let bytes: [UInt8] = try request.serializedBytes(options: options)
    var hasher = SHA256()
    hasher.update(data: Array(method.utf8))
    hasher.update(data: [0])
    hasher.update(data: bytes)
    let digest = hasher.finalize().lowercaseHex
    return IdempotencyKey(id: "\(caller.name)\u{1F}\(requestID)", fingerprint: digest)
  }
}
