import Crypto
import KilnCore
import Foundation
import Hummingbird
import HTTPTypes

/// The page's login: a bearer token exchanged for a session cookie, and the CSRF
/// token every mutating request made with that cookie must echo.
///
/// Stateless on purpose: the cookie holds the token itself (HttpOnly, so the page's
/// scripts cannot read it; SameSite=Strict, so no other site's page sends it), and the
/// CSRF token is an HMAC of it under a secret the store keeps. So a session survives a
/// restart of kilnd and works on every replica sharing a PostgreSQL store, and it ends
/// when its token is revoked or expires, exactly as the token's gRPC calls do.
struct WebSession: Sendable {
  /// The cookie's name.
  static let cookieName = "kiln_session"
  /// The header a cookie-authenticated mutating request carries its CSRF token in.
  static let csrfHeader = HTTPField.Name("X-Kiln-CSRF")!

  private let key: SymmetricKey
  /// Whether the cookie is marked Secure (when the page is served over TLS).
  let secureCookies: Bool

  init(secret: Data, secureCookies: Bool = false) {
    key = SymmetricKey(data: secret)
    self.secureCookies = secureCookies
  }

  /// The CSRF token of a session token.
  func csrfToken(for token: String) -> String {
    Data(HMAC<SHA256>.authenticationCode(for: Self.csrfMessage(token), using: key)).base64URLEncoded
  }

  /// Whether `candidate` is the CSRF token of `token` (swift-crypto compares the codes
  /// in constant time).
  func isValidCSRF(_ candidate: String, for token: String) -> Bool {
    guard let code = Data(base64URLEncoded: candidate) else { return false }
    return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.csrfMessage(token), using: key)
  }

  private static func csrfMessage(_ token: String) -> Data { Data("kiln-web-csrf\0\(token)".utf8) }

  /// The cookie that logs the browser in with `token`.
  func cookie(for token: String) -> Cookie {
    Cookie(name: Self.cookieName, value: token, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict)
  }

  /// The cookie that logs the browser out.
  func expiredCookie() -> Cookie {
    Cookie(
      name: Self.cookieName, value: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/",
      secure: secureCookies, httpOnly: true, sameSite: .strict)
  }

  /// Whether a token can be a cookie's value (Kiln's tokens are `kiln_` and base64).
  static func isCookieSafe(_ token: String) -> Bool {
    !token.isEmpty && token.utf8.count <= 512
      && token.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && scalar.value > 0x20 && scalar.value < 0x7F && !"\";,\\".unicodeScalars.contains(scalar)
      }
  }
}

/// How a request authenticates: a bearer token from a script, or the page's cookie.
enum WebCredentials {
  case bearer(String)
  case cookie(String)
  case none

  /// The credentials of a request: its `Authorization` header first, then its cookie.
  init(_ request: Request) {
    if let header = request.headers[.authorization] {
      self = .bearer(header)
    } else if let token = request.cookies[WebSession.cookieName]?.value, !token.isEmpty {
      self = .cookie(token)
    } else {
      self = .none
    }
  }

  /// The gRPC `authorization` metadata value.
  var authorization: String? {
    switch self {
    case .bearer(let header): header
    case .cookie(let token): "Bearer \(token)"
    case .none: nil
    }
  }
}
