import Crypto
package import Foundation
package import KilnCore

/// Makes and checks ListJobs page tokens.
///
/// A token is opaque to clients: base64url of a small JSON body (where the next page
/// starts, and a digest of the filter and order it was issued for), followed by an
/// HMAC-SHA256 of that body under a secret the store keeps. A token that was altered,
/// or that is replayed with another filter or order, is refused.
///
/// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in release
/// builds, where `@testable import` is unavailable) attacks this very codec.
package struct PageTokenCodec: Sendable {
  private let key: SymmetricKey

  /// Creates a codec that signs and checks tokens under `secret`.
  package init(secret: Data) {
    key = SymmetricKey(data: secret)
  }

  private struct Body: Codable {
    var version: Int
    var query: String
    var cursor: JobPageCursor
  }

  /// A token for the page after `cursor` of the list with this filter and order.
  package func encode(_ cursor: JobPageCursor, filter: JobFilter, order: JobOrder) throws -> String {
    let body = Body(version: 1, query: try Self.digest(filter: filter, order: order), cursor: cursor)
    let payload = try JSONEncoder().encode(body)
    let mac = Data(HMAC<SHA256>.authenticationCode(for: payload, using: key))
    return Self.base64url(payload) + "." + Self.base64url(mac)
  }

  /// The cursor in `token`, if this server issued it for this filter and order.
  ///
  /// - Throws: ``KilnError`` INVALID_ARGUMENT naming `page_token`.
  package func decode(_ token: String, filter: JobFilter, order: JobOrder) throws(KilnError) -> JobPageCursor {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, let payload = Self.data(base64url: parts[0]), let mac = Self.data(base64url: parts[1]),
      HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key)
    else {
      throw .invalidArgument(field: "page_token", "is not a token this server issued")
    }
    guard let body = try? JSONDecoder().decode(Body.self, from: payload), body.version == 1 else {
      throw .invalidArgument(field: "page_token", "is not a token this server issued")
    }
    guard let digest = try? Self.digest(filter: filter, order: order), body.query == digest else {
      throw .invalidArgument(field: "page_token", "was issued for a different filter or order")
    }
    return body.cursor
  }

  private static func digest(filter: JobFilter, order: JobOrder) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    encoder.dateEncodingStrategy = .millisecondsSince1970
    // A Set encodes in its storage's order, which differs between two equal sets: the
    // caller's projects are encoded sorted, apart, so that equal filters digest alike.
    var filter = filter.normalized
    let allowedProjects = filter.allowedProjects?.sorted()
    filter.allowedProjects = nil
    var data = try encoder.encode(filter)
    data.append(try encoder.encode(allowedProjects))
    data.append(try encoder.encode(order))
    return SHA256.hash(data: data).lowercaseHex
  }

  private static func base64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// The bytes of unpadded base64url text, if it is exactly what ``base64url(_:)`` writes.
  ///
  /// Foundation's decoder ignores the unused low bits of the last character and accepts
  /// padding: without the round trip, "QR" and "QQ=" read as "QQ", so an altered token was
  /// accepted.
  private static func data(base64url text: Substring) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64.append("=") }
    guard let data = Data(base64Encoded: base64), base64url(data) == text else { return nil }
    return data
  }
}
