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
    return payload.base64URLEncoded + "." + mac.base64URLEncoded
  }

  /// The cursor in `token`, if this server issued it for this filter and order.
  ///
  /// - Throws: ``KilnError`` INVALID_ARGUMENT naming `page_token`.
  package func decode(_ token: String, filter: JobFilter, order: JobOrder) throws(KilnError) -> JobPageCursor {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, let payload = Data(base64URLEncoded: parts[0]), let mac = Data(base64URLEncoded: parts[1]),
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
}
