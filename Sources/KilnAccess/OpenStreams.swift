public import KilnCore
package import KilnEngine
import Synchronization

/// The streaming calls in progress, by user and token, so that revoking a token,
/// disabling a user or changing their roles ends the streams opened with them.
///
/// ``AccessManager`` owns one and ends the streams itself on each such change, so every
/// embedding gets it; whatever serves streams registers each one for its duration.
public final class OpenStreams: Sendable {
  package final class Entry: Sendable {
    let user: String
    let tokenID: String?
    package let ended = Signal()
    private let reason = Mutex<RPCEndReason?>(nil)

    init(user: String, tokenID: String?) {
      self.user = user
      self.tokenID = tokenID
    }

    func end(_ why: RPCEndReason) {
      reason.withLock { if $0 == nil { $0 = why } }
      ended.fire()
    }

    package var endReason: RPCEndReason? { reason.withLock { $0 } }
  }

  /// Why a stream was ended from outside.
  package struct RPCEndReason: Sendable {
    package var code: KilnError.Code
    package var message: String
  }

  private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

  /// Creates an empty registry.
  public init() {}

  package func register(_ caller: Caller) -> Entry {
    let entry = Entry(user: caller.name, tokenID: caller.tokenID)
    entries.withLock { $0[ObjectIdentifier(entry)] = entry }
    return entry
  }

  package func unregister(_ entry: Entry) {
    _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(entry)) }
  }

  /// The number of open streams (for tests and metrics).
  public var count: Int { entries.withLock { $0.count } }

  /// Ends the streams opened with this token (UNAUTHENTICATED).
  public func endStreams(tokenID: String, message: String) {
    end(where: { $0.tokenID == tokenID }, RPCEndReason(code: .unauthenticated, message: message))
  }

  /// Ends the streams of this user with `code`.
  public func endStreams(user: String, code: KilnError.Code, message: String) {
    end(where: { $0.user == user }, RPCEndReason(code: code, message: message))
  }

  private func end(where matches: (Entry) -> Bool, _ reason: RPCEndReason) {
    let matching = entries.withLock { $0.values.filter(matches) }
    for entry in matching { entry.end(reason) }
  }
}
