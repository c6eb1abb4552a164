import Crypto
import Foundation
import KilnCore
import KilnServer

/// ListJobs page tokens, `PageTokenCodec`.
///
/// Inputs: tokens the codec issues for random filters, orders and cursors, then altered
/// (characters of the base64url alphabet changed, inserted, deleted; parts cut, swapped or
/// repeated), checked under another secret, replayed with another filter or order; random
/// strings; and bodies re-signed with the secret, to reach the checks behind the MAC.
///
/// Properties: nothing traps; the token the codec issued decodes to its cursor; any other
/// text is refused with INVALID_ARGUMENT naming `page_token` (an altered token is never
/// accepted, not even for the same cursor); a token is refused under another secret, and
/// with a filter or order that selects differently, and accepted with one that only lists
/// the same values in another order or repeats them; a re-signed body is accepted exactly
/// when it is version 1 JSON for the same query, and then yields the body's cursor.
package struct PageTokenFuzz: FuzzCase {
  package let name = "page-token"
  package let summary = "PageTokenCodec.decode on issued, altered, foreign and re-signed tokens"

  private static let secret = Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
  private let codec = PageTokenCodec(secret: Self.secret)
  private let otherCodec = PageTokenCodec(secret: Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 12) }))
  private let bodyMutator = ByteMutator(dictionary: [
    "\"version\"", "\"query\"", "\"cursor\"", "\"lastValue\"", "\"lastID\"", "\"integer\"", "\"text\"", "\"_0\"", "1", "2",
    "0", "null", "{}", "[]", "\"\"", ",", ":", "{", "}", "\"version\":1,", "\"version\":1.0,",
  ])

  package init() {}

  package func run(using random: inout FuzzRandom) -> FuzzOutcome {
    let filter = JobFilterFuzz.randomDomainFilter(using: &random)
    let order = JobOrder(field: random.pick(JobOrder.Field.allCases), ascending: random.chance(1, in: 2))
    let cursor = JobPageCursor(
      lastValue: random.chance(1, in: 2) ? .integer(random.extremeInt64()) : .text(FuzzText.string(using: &random)),
      lastID: FuzzText.string(using: &random))
    func failure(_ property: String, token: String) -> FuzzOutcome {
      .failed(FuzzFailure(property, input: "filter \(filter), order \(order), cursor \(cursor)\n    token: \(token.swiftLiteral)"))
    }
    let token: String
    do {
      token = try codec.encode(cursor, filter: filter, order: order)
    } catch {
      return failure("encode threw \(error)", token: "")
    }
    do {
      let decoded = try codec.decode(token, filter: filter, order: order)
      guard decoded == cursor else { return failure("the issued token decodes to \(decoded)", token: token) }
    } catch {
      return failure("the issued token is refused: \(error)", token: token)
    }

    switch random.below(6) {
    case 0, 1:
      let altered = Self.alter(token, using: &random)
      return expectRefusal(altered, original: token, cursor: cursor, filter: filter, order: order)
        .map { failure($0, token: altered) } ?? outcome(altered == token)
    case 2:
      let text = Self.randomToken(using: &random)
      return expectRefusal(text, original: token, cursor: cursor, filter: filter, order: order)
        .map { failure($0, token: text) } ?? outcome(text == token)
    case 3:
      do throws(KilnError) {
        let decoded = try otherCodec.decode(token, filter: filter, order: order)
        return failure("a token signed with another secret is accepted, as \(decoded)", token: token)
      } catch {
        return refusalProblem(error, fieldPrefix: "page_token", allowedFields: ["page_token"])
          .map { failure($0, token: token) } ?? .refused(kind: "invalid argument (other secret)")
      }
    case 4:
      let (otherFilter, otherOrder, sameQuery) = Self.variant(of: filter, order, using: &random)
      let context = "\n    replayed with filter \(otherFilter), order \(otherOrder)"
      do throws(KilnError) {
        let decoded = try codec.decode(token, filter: otherFilter, order: otherOrder)
        guard sameQuery else { return failure("a token is accepted for a different query" + context, token: token) }
        guard decoded == cursor else { return failure("decodes to \(decoded)" + context, token: token) }
        return .accepted
      } catch {
        guard !sameQuery else {
          return failure("refused for a filter that selects the same jobs: \(error)" + context, token: token)
        }
        return refusalProblem(error, fieldPrefix: "page_token", allowedFields: ["page_token"])
          .map { failure($0 + context, token: token) } ?? .refused(kind: "invalid argument (other query)")
      }
    default:
      return resigned(token, filter: filter, order: order, using: &random) { failure($0, token: $1) }
    }
  }

  private func outcome(_ unchanged: Bool) -> FuzzOutcome {
    unchanged ? .accepted : .refused(kind: "invalid argument (altered or random token)")
  }

  /// `nil` when `text` is accepted only if it is the issued token and is otherwise refused as it should be.
  private func expectRefusal(
    _ text: String, original: String, cursor: JobPageCursor, filter: JobFilter, order: JobOrder
  ) -> String? {
    do throws(KilnError) {
      let decoded = try codec.decode(text, filter: filter, order: order)
      if text == original { return decoded == cursor ? nil : "the issued token decodes to \(decoded)" }
      return "an altered token is accepted, as \(decoded)\(decoded == cursor ? " (the issued cursor)" : ""); issued: \(original)"
    } catch {
      if text == original { return "the issued token is refused: \(error)" }
      return refusalProblem(error, fieldPrefix: "page_token", allowedFields: ["page_token"])
    }
  }

  /// The base64url alphabet and the characters next to it.
  private static let tokenCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n%")

  static func alter(_ token: String, using random: inout FuzzRandom) -> String {
    var characters = Array(token)
    let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    switch random.below(9) {
    case 0, 1, 2:  // change one character, most often near the end of a part (where base64 pads bits)
      guard !characters.isEmpty else { return "A" }
      let dot = characters.firstIndex(of: ".") ?? characters.count
      let index = random.chance(1, in: 2)
        ? random.below(characters.count)
        : random.pick([max(0, dot - 1), max(0, dot - 2), characters.count - 1, max(0, characters.count - 2)])
      characters[index] = random.pick(tokenCharacters)
    case 3:  // insert a character
      characters.insert(random.pick(tokenCharacters), at: random.int(in: 0...characters.count))
    case 4:  // delete characters
      guard !characters.isEmpty else { return "" }
      let start = random.below(characters.count)
      characters.removeSubrange(start..<min(characters.count, start + 1 + random.smallCount(max: 8)))
    case 5:  // cut
      characters = Array(characters.prefix(random.below(max(1, characters.count))))
    case 6:  // rearrange the parts
      guard parts.count == 2 else { return token + "." }
      return random.pick([parts[1] + "." + parts[0], parts[0] + "." + parts[0], parts[0], parts[0] + "." + parts[1] + "." + parts[1],
                          parts[0] + "." + parts[1] + "=", parts[0] + "=." + parts[1], "." + parts[1], parts[0] + "."])
    case 7:  // swap two characters
      guard characters.count >= 2 else { return token + "A" }
      characters.swapAt(random.below(characters.count), random.below(characters.count))
    default:  // flip the case of letters
      return String(characters.map { character in
        guard character.isASCII, character.isLetter, random.chance(1, in: 8) else { return character }
        return Character(character.isUppercase ? character.lowercased() : character.uppercased())
      })
    }
    return String(characters)
  }

  static func randomToken(using random: inout FuzzRandom) -> String {
    switch random.below(3) {
    case 0:
      return String((0..<random.smallCount(max: 200)).map { _ in random.pick(tokenCharacters) })
    case 1:
      return FuzzText.string(using: &random)
    default:
      let part = { (random: inout FuzzRandom) in
        String((0..<random.int(in: 0...90)).map { _ in random.pick(Array(tokenCharacters.prefix(64))) })
      }
      return part(&random) + "." + part(&random)
    }
  }

  /// A filter and order that select the same jobs as the given ones (lists reordered or
  /// repeated, an empty subject or key), or that select differently; and which of the two.
  static func variant(of filter: JobFilter, _ order: JobOrder, using random: inout FuzzRandom)
    -> (JobFilter, JobOrder, sameQuery: Bool)
  {
    var other = filter
    var otherOrder = order
    switch random.below(10) {
    case 0:
      other.projects = (other.projects + other.projects.prefix(random.below(3))).shuffled(using: &random)
      other.statuses = (other.statuses + other.statuses.prefix(random.below(3))).shuffled(using: &random)
      other.jobTypes = other.jobTypes.reversed()
      if other.subject == nil, random.chance(1, in: 2) { other.subject = "" }
      if other.key == nil, random.chance(1, in: 2) { other.key = "" }
    case 1: other.projects.append(FuzzText.string(using: &random) + "x")
    case 2: other.statuses = Array(JobStatus.allCases.filter { !filter.statuses.contains($0) }.prefix(1)) + filter.statuses
    case 3: other.jobTypes.append("OTHER_TYPE")
    case 4: other.subject = (filter.subject ?? "") + "x"
    case 5: other.key = (filter.key ?? "") + "x"
    case 6:
      let shift = Double(random.chance(1, in: 2) ? 0.001 : 86_400) * (random.chance(1, in: 2) ? 1 : -1)
      other.createdFrom = (filter.createdFrom ?? Date(timeIntervalSince1970: 0)).addingTimeInterval(shift)
    case 7: other.createdTo = filter.createdTo == nil ? Date(timeIntervalSince1970: 1_000) : nil
    case 8: otherOrder.ascending.toggle()
    default:
      otherOrder.field = JobOrder.Field.allCases.first { $0 != order.field } ?? order.field
    }
    return (other, otherOrder, other.normalized == filter.normalized && otherOrder == order)
  }

  /// The token's body as the codec writes it.
  private struct Body: Codable {
    var version: Int
    var query: String
    var cursor: JobPageCursor
  }

  /// Re-signs a mutated body with the codec's own secret: the codec must accept exactly the
  /// bodies that are version 1 JSON for the original query, and yield their cursor.
  private func resigned(
    _ token: String, filter: JobFilter, order: JobOrder, using random: inout FuzzRandom,
    failure: (String, String) -> FuzzOutcome
  ) -> FuzzOutcome {
    let parts = token.split(separator: ".")
    guard let payload = Self.data(base64url: parts[0]),
      let original = try? JSONDecoder().decode(Body.self, from: payload)
    else { return failure("cannot read the body of an issued token", token) }
    let body = bodyMutator.mutate(Array(payload), using: &random)
    let mac = Data(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Self.secret)))
    let forged = Self.base64url(Data(body)) + "." + Self.base64url(mac)
    let expected = (try? JSONDecoder().decode(Body.self, from: Data(body))).flatMap {
      $0.version == 1 && $0.query == original.query ? $0.cursor : nil
    }
    do throws(KilnError) {
      let decoded = try codec.decode(forged, filter: filter, order: order)
      guard let expected else {
        return failure("a signed body that is not a version 1 body for the query is accepted, as \(decoded)", forged)
      }
      return decoded == expected ? .accepted : failure("a re-signed body decodes to \(decoded), not \(expected)", forged)
    } catch {
      if let expected { return failure("a signed version 1 body for the query, cursor \(expected), is refused: \(error)", forged) }
      return refusalProblem(error, fieldPrefix: "page_token", allowedFields: ["page_token"]).map { failure($0, forged) }
        ?? .refused(kind: "invalid argument (re-signed body)")
    }
  }

  private static func base64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  private static func data(base64url text: Substring) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64.append("=") }
    return Data(base64Encoded: base64)
  }
}
