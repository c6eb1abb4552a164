import NIOCore
import NIOHPACK
import NIOHTTP2

/// Answers a stream whose `grpc-timeout` header is malformed with INTERNAL, before
/// grpc-swift parses the header.
///
/// grpc-swift-2 2.4.3 reads the header with `Timeout(decoding:)`
/// (`Sources/GRPCCore/Timeout.swift`, line 59), which accepts a signed amount
/// (`Int64("-1")`) and hands it to `Timeout(amount:unit:)`, whose
/// `precondition((0 ... Timeout.maxAmount).contains(amount))` (line 164) aborts the
/// process: one unauthenticated request with `grpc-timeout: -1S` killed kilnd. The
/// header is decoded before any interceptor runs, so the only place to stop it is the
/// HTTP/2 stream's own pipeline, ahead of the transport's stream handler (installed
/// through `ChannelDebuggingCallbacks.onAcceptHTTP2Stream`).
///
/// Valid is what the gRPC over HTTP/2 spec allows: 1 to 8 ASCII digits followed by one
/// of `H M S m u n`. Anything else is refused like grpc-go refuses it (INTERNAL,
/// "malformed grpc-timeout"), with the value quoted up to a bounded length.
final class GRPCTimeoutHeaderGuard: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTP2Frame.FramePayload
  typealias InboundOut = HTTP2Frame.FramePayload
  typealias OutboundOut = HTTP2Frame.FramePayload

  private var refused = false

  /// Installs the guard on an accepted HTTP/2 stream, in front of everything else.
  static func install(on channel: any Channel) -> EventLoopFuture<Void> {
    channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandler(GRPCTimeoutHeaderGuard(), position: .first)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if refused { return }  // The stream was answered; whatever else the client sends is dropped.
    guard case .headers(let frame) = unwrapInboundIn(data) else {
      context.fireChannelRead(data)
      return
    }
    let timeouts = frame.headers["grpc-timeout"]
    guard let bad = timeouts.first(where: { !Self.isValid($0) }) else {
      // The first HEADERS frame decides; the guard has nothing more to look at.
      context.fireChannelRead(data)
      context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
      return
    }
    refused = true
    let quoted = bad.count > 32 ? String(bad.prefix(32)) + "…" : String(bad)
    let message = "malformed grpc-timeout header '\(quoted)': expected 1 to 8 digits and a unit (H, M, S, m, u, n)"
    let trailers: HPACKHeaders = [
      ":status": "200", "content-type": "application/grpc", "grpc-status": "13",
      "grpc-message": Self.percentEncoded(message),
    ]
    context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
    context.close(promise: nil)
  }

  /// Whether `value` is a TimeoutValue and TimeoutUnit as the gRPC spec defines them.
  static func isValid(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard (2...9).contains(bytes.count), let unit = bytes.last, "HMSmun".utf8.contains(unit) else { return false }
    return bytes.dropLast().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
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
