import Foundation
import KilnCore
import KilnServer
import Testing

/// Page tokens accept only the exact text the server issued (found by `kiln-fuzz --case page-token`).
@Suite("Page tokens")
struct PageTokenCodecTests {
  let codec = PageTokenCodec(secret: Data(repeating: 1, count: 32))
  let filter = JobFilter(projects: ["p1"])
  let order = JobOrder()
  let cursor = JobPageCursor(lastValue: .integer(42), lastID: "j1")

  @Test("an issued token decodes to its cursor")
  func roundTrip() throws {
    let token = try codec.encode(cursor, filter: filter, order: order)
    #expect(try codec.decode(token, filter: filter, order: order) == cursor)
  }

  /// The MAC is 32 bytes, 43 base64url characters: the last one carries 2 unused bits,
  /// which Foundation's decoder ignores; and it accepts padding the codec never writes.
  @Test("a token with another spelling of the same bytes is refused naming page_token")
  func nonCanonical() throws {
    let token = try codec.encode(cursor, filter: filter, order: order)
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    let lastCharacter = try #require(token.last)
    let last = try #require(alphabet.firstIndex(of: lastCharacter))
    let sibling = String(token.dropLast()) + String(alphabet[last ^ 1])
    let parts = token.split(separator: ".").map(String.init)
    for altered in [sibling, token + "=", parts[0] + "=." + parts[1], parts[0] + "." + parts[1] + "=="] {
      let error = #expect(throws: KilnError.self, "\(altered)") { try codec.decode(altered, filter: filter, order: order) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.details[DetailKey.field] == "page_token")
    }
  }
}
