import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of every HTTP/2 stream: refuses what grpc-swift would crash on,
/// hang on, or answer with the wrong code, before grpc-swift sees it.
///
/// Installed through `ChannelDebuggingCallbacks.onAcceptHTTP2Stream`, ahead of the
/// transport's stream handler. Each check names the upstream behaviour it works around:
///
/// - **A malformed `grpc-timeout` killed kilnd.** grpc-swift-2 2.4.3 reads the header
///   with `Timeout(decoding:)` (`Sources/GRPCCore/Timeout.swift`, line 59), which
///   accepts a signed amount (`Int64("-1")`) and hands it to `Timeout(amount:unit:)`,
///   whose `precondition((0 ... Timeout.maxAmount).contains(amount))` (line 164) aborts
///   the process. Valid is what the gRPC over HTTP/2 spec allows: 1 to 8 ASCII digits
///   followed by one of `H M S m u n`; anything else is INTERNAL, as grpc-go answers.
/// - **A call that ends with its HEADERS was never answered.** grpc-swift-nio-transport
///   2.9.2 (`Sources/GRPCNIOTransportCore/Server/GRPCServerStreamHandler.swift`,
///   `channelRead`, the `.headers` case near line 167) forwards the metadata of a
///   HEADERS frame with END_STREAM but never signals the end of the request, so a
///   unary handler waits for a message for ever. The guard passes such a frame on as
///   HEADERS followed by an empty DATA frame with END_STREAM: grpc-swift then answers
///   at once as for any request without a message (INTERNAL).
/// - **Framing errors ended in RST_STREAM(CANCEL).** The same handler's
///   `.forwardErrorAndClose_serverOnly` (near line 139) closes the stream without a
///   status when a message is too large or its compressed flag is wrong, so clients saw
///   CANCELLED. The guard reads each message's 5-byte prefix and answers first: a
///   message larger than the server accepts is RESOURCE_EXHAUSTED, a compressed flag
///   without a `grpc-encoding`, a flag other than 0 or 1, or a request that ends inside
///   a message is INTERNAL, each with a message saying which.
/// - **Past the stream limit, NIO's HTTP/2 closes the whole connection** (GOAWAY
///   PROTOCOL_ERROR, `ConnectionStreamsState.swift`, `maxStreamsViolation`). kilnd
///   gives NIO the protocol's largest limit (NIO enforces 100 when given none) and counts
///   streams here instead (``ConnectionGuard``):
///   a stream past ``ConnectionLimits/maxConcurrentStreams``, or opened faster than
///   ``ConnectionLimits/maxStreamOpensPerSecond``, gets `RST_STREAM(REFUSED_STREAM)`
///   on its own, which clients may retry, and the connection's other calls go on.
/// - **A client that stops reading held the server's memory for ever.** NIO's HTTP/2
///   buffers what a stream writes beyond the client's flow-control window, without a
///   bound in time or bytes: 400 ListJobs streams of a client advertising a window of
///   1 byte grew kilnd by more than a gigabyte. A stream that stays unwritable (its
///   window closed) for ``ConnectionLimits/writeStallTimeout`` is reset with
///   `RST_STREAM(ENHANCE_YOUR_CALM)`, which gRPC clients report as RESOURCE_EXHAUSTED
///   (trailers cannot reach a client that does not read: they queue behind the data),
///   and NIO drops what it held for it.
/// - **A stream reset as soon as it is opened still ran its handler** (the HTTP/2
///   rapid-reset attack, CVE-2023-44487, cost ≈2 ms of CPU a stream). The guard holds a
///   stream's frames until the end of the read that brought its HEADERS; a RST_STREAM in
///   that same read drops them, and grpc-swift never starts the call.
final class RequestStreamGuard: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTP2Frame.FramePayload
  typealias InboundOut = HTTP2Frame.FramePayload
  typealias OutboundIn = HTTP2Frame.FramePayload
  typealias OutboundOut = HTTP2Frame.FramePayload

  /// The largest request message (after its prefix) the server reads.
  private let maxMessageBytes: Int
  /// The connection's guard, which counts this stream (absent in embeddings without one).
  private weak var connection: ConnectionGuard?
  /// Why the stream is refused before it starts, if it is.
  private var refusal: String?
  private var counted = false
  /// The stream has been answered by the guard: nothing more is read or written.
  private var answered = false
  private var sawHeaders = false
  private var responseStarted = false
  /// Whether the request names a compression (then grpc-swift checks its messages).
  private var requestEncoded = false
  /// The message prefix read so far, and the bytes of the current message still to come.
  private var prefix: [UInt8] = []
  private var remaining = 0

  /// How long the stream may stay unwritable before it is reset.
  private let writeStallTimeout: Duration
  private var stallTimer: Scheduled<Void>?

  init(maxMessageBytes: Int, writeStallTimeout: Duration, connection: ConnectionGuard?) {
    self.maxMessageBytes = maxMessageBytes
    self.writeStallTimeout = writeStallTimeout
    self.connection = connection
  }

  /// Installs the guard on an accepted HTTP/2 stream, in front of everything else, and
  /// counts the stream against its connection's limits.
  static func install(on channel: any Channel, maxMessageBytes: Int, writeStallTimeout: Duration) -> EventLoopFuture<Void> {
    channel.eventLoop.makeCompletedFuture {
      let connection = try? channel.parent?.pipeline.syncOperations.handler(type: ConnectionGuard.self)
      let streamGuard = RequestStreamGuard(
        maxMessageBytes: maxMessageBytes, writeStallTimeout: writeStallTimeout, connection: connection)
      if let connection {
        streamGuard.refusal = connection.streamOpened()
        streamGuard.counted = streamGuard.refusal == nil
      }
      try channel.pipeline.syncOperations.addHandler(streamGuard, position: .first)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    stallTimer?.cancel()
    if counted {
      counted = false
      connection?.streamClosed()
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if answered { return }  // Answered: whatever else the client sends is dropped.
    if refusal != nil {
      answered = true
      context.writeAndFlush(wrapOutboundOut(.rstStream(.refusedStream)), promise: nil)
      context.close(promise: nil)
      return
    }
    switch unwrapInboundIn(data) {
    case .headers(let frame) where !sawHeaders:
      sawHeaders = true
      if let bad = frame.headers["grpc-timeout"].first(where: { !Self.isValidTimeout($0) }) {
        let message = "malformed grpc-timeout header '\(Self.quoted(bad))': expected 1 to 8 digits and a unit (H, M, S, m, u, n)"
        return answer(context: context, code: 13, message: message)
      }
      requestEncoded = frame.headers["grpc-encoding"].contains { $0 != "identity" }
      guard frame.endStream else { return forward(data, context: context) }
      var open = frame
      open.endStream = false
      forward(wrapInboundOut(.headers(open)), context: context)
      forward(wrapInboundOut(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))), context: context)
    case .data(let frame):
      if case .byteBuffer(let buffer) = frame.data, let problem = readPrefixes(buffer, endStream: frame.endStream) {
        return answer(context: context, code: problem.code, message: problem.message)
      }
      forward(data, context: context)
    case .rstStream where !held.isEmpty:
      // Reset in the same read as its HEADERS (the rapid-reset pattern): grpc-swift never
      // sees the call, so no handler starts for it.
      held.removeAll()
      answered = true
      context.close(promise: nil)
    default:
      forward(data, context: context)
    }
  }

  /// Frames of the stream's first read, held until the read is complete.
  private var held: [NIOAny] = []
  private var holding = true

  /// Passes a frame on, or holds it while the stream's first read is in progress.
  private func forward(_ data: NIOAny, context: ChannelHandlerContext) {
    if holding {
      held.append(data)
    } else {
      context.fireChannelRead(data)
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    if holding {
      holding = false
      let frames = held
      held.removeAll()
      for frame in frames where !answered { context.fireChannelRead(frame) }
    }
    context.fireChannelReadComplete()
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      stallTimer?.cancel()
      stallTimer = nil
    } else if stallTimer == nil, !answered {
      let timeout = writeStallTimeout
      stallTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
        guard let self, !self.answered, !context.channel.isWritable else { return }
        self.answered = true
        context.writeAndFlush(self.wrapOutboundOut(.rstStream(.enhanceYourCalm)), promise: nil)
        context.close(promise: nil)
      }
    }
    context.fireChannelWritabilityChanged()
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if answered {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    if case .headers = unwrapOutboundIn(data) { responseStarted = true }
    context.write(data, promise: promise)
  }

  /// Follows the messages' 5-byte prefixes through `buffer`; returns what is wrong with
  /// the framing, if anything (a gRPC status code and a message).
  private func readPrefixes(_ buffer: ByteBuffer, endStream: Bool) -> (code: Int, message: String)? {
    var problem: (code: Int, message: String)?
    buffer.withUnsafeReadableBytes { bytes in
      var index = 0
      while index < bytes.count {
        if remaining > 0 {
          let skip = min(remaining, bytes.count - index)
          remaining -= skip
          index += skip
          continue
        }
        prefix.append(bytes[index])
        index += 1
        guard prefix.count == 5 else { continue }
        let flag = prefix[0]
        let length = prefix[1...4].reduce(0) { $0 << 8 | Int($1) }
        prefix.removeAll(keepingCapacity: true)
        if flag > 1 {
          problem = (13, "invalid message framing: the compressed flag is \(flag), not 0 or 1")
          return
        }
        if flag == 1 && !requestEncoded {
          problem = (13, "a message is marked compressed but the request has no grpc-encoding header")
          return
        }
        if length > maxMessageBytes {
          problem = (8, "the request message is \(length) bytes, more than the server accepts (\(maxMessageBytes) bytes)")
          return
        }
        remaining = length
      }
    }
    if problem == nil, endStream, remaining > 0 || !prefix.isEmpty {
      problem = (13, "invalid message framing: the request ended inside a message")
    }
    return problem
  }

  /// Ends the stream with `code` and `message`: trailers-only when nothing was sent yet.
  private func answer(context: ChannelHandlerContext, code: Int, message: String) {
    answered = true
    var trailers: HPACKHeaders = responseStarted ? [:] : [":status": "200", "content-type": "application/grpc"]
    trailers.add(name: "grpc-status", value: String(code))
    trailers.add(name: "grpc-message", value: Self.percentEncoded(message))
    context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
    context.close(promise: nil)
  }

  /// Whether `value` is a TimeoutValue and TimeoutUnit as the gRPC spec defines them.
  static func isValidTimeout(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard (2...9).contains(bytes.count), let unit = bytes.last, "HMSmun".utf8.contains(unit) else { return false }
    return bytes.dropLast().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
  }

  /// At most 32 characters of a client's value, for a message.
  static func quoted(_ value: String) -> String {
    value.count > 32 ? String(value.prefix(32)) + "…" : value
  }

  /// `grpc-message` is percent-encoded outside printable ASCII (and `%` itself).
  static func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      if (0x20...0x7E).contains(byte) && byte != UInt8(ascii: "%") {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return out
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
