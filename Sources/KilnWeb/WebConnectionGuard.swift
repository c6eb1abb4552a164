import Logging
import NIOCore

/// How the web face admits connections: kilnd passes its gRPC port's connection
/// counter, so `--max-connections` and `--max-connections-per-address` bound both
/// ports together (a client cannot open ten thousand connections by picking the HTTP
/// port instead).
public struct WebConnectionAdmission: Sendable {
  /// Counts a connection from an address, or says which limit refuses it.
  public let admit: @Sendable (String) -> String?
  /// Forgets a connection `admit` counted.
  public let release: @Sendable (String) -> Void

  /// Creates the admission from the counter's two operations.
  public init(admit: @escaping @Sendable (String) -> String?, release: @escaping @Sendable (String) -> Void) {
    self.admit = admit
    self.release = release
  }
}

/// Admits each HTTP connection against ``WebConnectionAdmission`` and closes the ones
/// it refuses. Installed in every connection's pipeline (Hummingbird's
/// `additionalChannelHandlers`); it passes everything else through.
final class WebConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  typealias InboundOut = NIOAny

  private let admission: WebConnectionAdmission
  private let logger: Logger
  private var address: String?
  private var decided = false

  init(admission: WebConnectionAdmission, logger: Logger) {
    self.admission = admission
    self.logger = logger
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { decide(context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    decide(context)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    if let address {
      self.address = nil
      admission.release(address)
    }
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    if let address {
      self.address = nil
      admission.release(address)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard address != nil else { return }  // refused: nothing it sends is read
    context.fireChannelRead(data)
  }

  private func decide(_ context: ChannelHandlerContext) {
    guard !decided else { return }
    decided = true
    let remote = context.remoteAddress?.ipAddress ?? "unknown"
    if let reason = admission.admit(remote) {
      logger.debug("refused an HTTP connection from \(remote): \(reason)")
      context.close(promise: nil)
      return
    }
    address = remote
  }
}
