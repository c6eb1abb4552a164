import Logging
import NIOCore
import NIOHTTP2

/// The first handler of every accepted connection: admits it against the connection
/// limits, closes it when it does not start HTTP/2 in time, and keeps the count of its
/// open streams for ``RequestStreamGuard``.
///
/// It sits at the front of the connection's pipeline (installed through
/// `ChannelDebuggingCallbacks.onAcceptTCPConnection`), so it sees the connection's
/// bytes before TLS and HTTP/2 do. grpc-swift-nio-transport 2.9 has no connection limit
/// and no handshake timeout of its own: a thousand silent TCP connections used to stay
/// open for ever, each holding a descriptor.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = IOData
  typealias OutboundOut = IOData

  /// The length of the HTTP/2 client connection preface (`PRI * HTTP/2.0…`).
  static let prefaceLength = 24

  private let counter: ConnectionCounter
  private let logger: Logger
  private var address = "unknown"
  private var admitted = false
  private var refused = false
  private var bytesRead = 0
  private var handshakeTimer: Scheduled<Void>?

  /// Streams of this connection open now, and the streams opened in the current second.
  private(set) var openStreams = 0
  private var opensThisSecond = 0
  private var secondStart = NIODeadline.now()

  /// A guard counting against `counter`.
  init(counter: ConnectionCounter, logger: Logger) {
    self.counter = counter
    self.logger = logger
  }

  /// Installs a guard at the front of an accepted connection, and a ``GoAwayCloser``
  /// behind its HTTP/2 handler.
  static func install(
    on channel: any Channel, counter: ConnectionCounter, closeGrace: Duration, logger: Logger
  ) -> EventLoopFuture<Void> {
    channel.eventLoop.makeCompletedFuture {
      let pipeline = channel.pipeline.syncOperations
      try pipeline.addHandler(ConnectionGuard(counter: counter, logger: logger), position: .first)
      let http2 = try pipeline.handler(type: NIOHTTP2Handler.self)
      try pipeline.addHandler(GoAwayCloser(grace: closeGrace), position: .after(http2))
    }
  }

  func channelActive(context: ChannelHandlerContext) {
    address = context.remoteAddress?.ipAddress ?? "unknown"
    if let reason = counter.admit(address) {
      refused = true
      let (log, suppressed) = counter.logRefusal()
      if log {
        let more = suppressed > 0 ? " (and \(suppressed) more refused since the last one logged)" : ""
        logger.warning("refused a connection from \(address): \(reason)\(more)")
      }
      let refusal = context.channel.allocator.buffer(bytes: Self.refusalFrames(reason: "kilnd refused the connection: \(reason)"))
      context.writeAndFlush(wrapOutboundOut(.byteBuffer(refusal))).whenComplete { _ in context.close(promise: nil) }
      // The handlers behind see the connection come and go as any other, so that
      // everything they set up for it is torn down; what they write is dropped.
      context.fireChannelActive()
      return
    }
    admitted = true
    let timeout = counter.limits.handshakeTimeout
    handshakeTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
      guard let self, self.bytesRead < Self.prefaceLength else { return }
      self.logger.debug("closed a connection from \(self.address): no HTTP/2 preface within \(timeout)")
      context.close(promise: nil)
    }
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    handshakeTimer?.cancel()
    if admitted {
      admitted = false
      counter.release(address)
    }
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if refused { return }  // Refused: nothing the client sends is read.
    if bytesRead < Self.prefaceLength {
      bytesRead += unwrapInboundIn(data).readableBytes
      if bytesRead >= Self.prefaceLength { handshakeTimer?.cancel() }
    }
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    // A refused connection says only its refusal (not HTTP/2's own preface, which the
    // HTTP/2 handler behind this one writes when the connection becomes active).
    if refused {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    context.write(data, promise: promise)
  }

  // MARK: - Streams

  /// Counts a new stream of this connection, or says why it is refused.
  func streamOpened() -> String? {
    let limits = counter.limits
    if openStreams >= limits.maxConcurrentStreams {
      return "the connection has \(openStreams) calls open, the limit (--max-concurrent-streams \(limits.maxConcurrentStreams))"
    }
    let now = NIODeadline.now()
    if now - secondStart >= .seconds(1) {
      secondStart = now
      opensThisSecond = 0
    }
    if opensThisSecond >= limits.maxStreamOpensPerSecond {
      return "the connection opened \(opensThisSecond) calls in the last second, the limit"
    }
    opensThisSecond += 1
    openStreams += 1
    return nil
  }

  /// Forgets a stream ``streamOpened()`` counted.
  func streamClosed() {
    openStreams -= 1
  }

  /// An empty SETTINGS frame (the server's connection preface) and a GOAWAY frame with
  /// `ENHANCE_YOUR_CALM` and `reason` as its debug data: what HTTP/2 clients report when
  /// a server turns them away (RFC 9113, sections 3.4 and 6.8).
  static func refusalFrames(reason: String) -> [UInt8] {
    let debug = Array(reason.utf8.prefix(1024))
    let length = 8 + debug.count
    var bytes: [UInt8] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0]  // SETTINGS, no parameters.
    bytes += [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), 0x7, 0, 0, 0, 0, 0]
    bytes += [0, 0, 0, 0]  // Last stream id: none was processed.
    bytes += [0, 0, 0, 0xB]  // ENHANCE_YOUR_CALM.
    return bytes + debug
  }
}

/// Closes a connection at most `grace` after the server sent it GOAWAY.
///
/// grpc-swift-nio-transport 2.9.2 closes a connection it sent GOAWAY (idle, too old, or
/// the server stopping) only once the client acknowledges the PING that follows the
/// GOAWAY (`ServerConnectionManagementHandler.swift`, `handlePingAck`, near line 640);
/// its `maxGraceTime` timer starts there too, and the keepalive timers are cancelled
/// when the shutdown begins. A client that never answers that PING kept the connection,
/// and its descriptor, for ever. This handler sits behind the HTTP/2 handler, sees the
/// frames the server writes, and closes the connection `grace` after the first GOAWAY.
final class GoAwayCloser: ChannelOutboundHandler, RemovableChannelHandler {
  typealias OutboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private let grace: Duration
  private var closing: Scheduled<Void>?

  init(grace: Duration) {
    self.grace = grace
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if closing == nil, case .goAway = unwrapOutboundIn(data).payload {
      closing = context.eventLoop.scheduleTask(in: TimeAmount(grace)) { context.close(promise: nil) }
    }
    context.write(data, promise: promise)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    closing?.cancel()
  }
}
