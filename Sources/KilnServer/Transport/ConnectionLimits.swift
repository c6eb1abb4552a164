import Synchronization

/// The bounds the server puts on connections and on the streams of each connection,
/// whatever the client does. Enforced at the edge, by ``ConnectionGuard`` and
/// ``RequestStreamGuard``, before grpc-swift sees a stream.
public struct ConnectionLimits: Sendable, Hashable {
  /// The most connections open at once, from all clients. A connection past it is
  /// refused at once: HTTP/2 GOAWAY `ENHANCE_YOUR_CALM` saying which limit was reached.
  public var maxConnections: Int = 10_000
  /// The most connections open at once from one client address (the same refusal).
  public var maxConnectionsPerAddress: Int = 1_000
  /// How long a new connection has to send the HTTP/2 connection preface (24 bytes)
  /// before it is closed. A TCP connection that says nothing holds a descriptor.
  public var handshakeTimeout: Duration = .seconds(10)
  /// The most calls (watches included) one connection may have open at once. A stream
  /// past it is refused on its own with `RST_STREAM(REFUSED_STREAM)`, which gRPC clients
  /// may retry; the connection and its other calls go on.
  public var maxConcurrentStreams: Int = 4096
  /// The most streams one connection may open in one second. Past it, new streams are
  /// refused (`REFUSED_STREAM`) until the second is over: a client opening and
  /// resetting streams in a loop cannot make the server start handler after handler.
  public var maxStreamOpensPerSecond: Int = 2_000

  /// How long a stream may stay unable to write (the client's flow-control window
  /// closed: it does not read) before it is reset, and the memory held for it freed.
  public var writeStallTimeout: Duration = .seconds(60)

  /// Creates limits with the documented defaults.
  public init() {}
}

/// The connections open now, in total and by client address, shared by every
/// connection's ``ConnectionGuard``.
final class ConnectionCounter: Sendable {
  let limits: ConnectionLimits
  private let open = Mutex<(total: Int, byAddress: [String: Int])>((0, [:]))

  init(limits: ConnectionLimits) {
    self.limits = limits
  }

  /// Counts a new connection from `address`, or says which limit refuses it.
  func admit(_ address: String) -> String? {
    open.withLock { open in
      if open.total >= limits.maxConnections {
        return "the server has \(open.total) connections open, its limit (--max-connections \(limits.maxConnections))"
      }
      let fromAddress = open.byAddress[address, default: 0]
      if fromAddress >= limits.maxConnectionsPerAddress {
        return
          "\(address) has \(fromAddress) connections open, the limit for one address (--max-connections-per-address \(limits.maxConnectionsPerAddress))"
      }
      open.total += 1
      open.byAddress[address] = fromAddress + 1
      return nil
    }
  }

  /// Forgets a connection ``admit(_:)`` counted.
  func release(_ address: String) {
    open.withLock { open in
      open.total -= 1
      let left = open.byAddress[address, default: 1] - 1
      open.byAddress[address] = left > 0 ? left : nil
    }
  }

  private let refusalLog = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

  /// Whether a refusal is to be logged now (at most one line a second, so that a flood
  /// of connections does not become a flood of log lines), and how many were not.
  func logRefusal() -> (log: Bool, suppressed: Int) {
    refusalLog.withLock { state in
      let now = ContinuousClock.now
      if let last = state.last, now - last < .seconds(1) {
        state.suppressed += 1
        return (false, 0)
      }
      defer { state = (now, 0) }
      return (true, state.suppressed)
    }
  }

  /// The connections open now (for tests and metrics).
  var total: Int { open.withLock { $0.total } }
}
