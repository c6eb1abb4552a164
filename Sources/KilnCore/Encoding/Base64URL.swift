import Foundation

extension Data {
  /// The bytes as unpadded base64url (RFC 4648 §5): what page tokens and the web
  /// face's CSRF tokens are written in.
  package var base64URLEncoded: String {
    base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// The bytes of unpadded base64url text, if it is exactly what ``base64URLEncoded``
  /// writes.
  ///
  /// Foundation's decoder ignores the unused low bits of the last character and accepts
  /// padding: without the round trip, "QR" and "QQ=" read as "QQ", so an altered token was
  /// accepted.
  package init?(base64URLEncoded text: some StringProtocol) {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64.append("=") }
    guard let data = Data(base64Encoded: base64), data.base64URLEncoded == text else { return nil }
    self = data
  }
}
