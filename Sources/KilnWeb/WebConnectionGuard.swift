import HummingbirdCore
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

/// A connection of the web port with ``WebConnectionGuard`` at the front of its
/// pipeline, ahead of TLS and HTTP: Hummingbird's own `additionalChannelHandlers` go
/// on each HTTP/2 stream, which would count streams rather than connections.
struct AdmittedChannel: ServerChildChannel {
  /// The base channel's value, whatever its type.
  struct Value: ServerChildChannelValue {
    let base: any ServerChildChannelValue
    var channel: any Channel { base.channel }
  }

  let base: any ServerChildChannel
  let admission: WebConnectionAdmission?
  let logger: Logger

  func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
    if let admission {
      do {
        try channel.pipeline.syncOperations.addHandler(
          WebConnectionGuard(admission: admission, logger: self.logger), position: .first)
      } catch {
        return channel.eventLoop.makeFailedFuture(error)
      }
    }
    return base.setupErased(channel: channel, logger: logger).map { Value(base: $0) }
  }

  func handle(value: Value, logger: Logger) async {
    await base.handleErased(value: value.base, logger: logger)
  }
}

extension ServerChildChannel {
  /// `setup(channel:logger:)` with its value's type erased.
  fileprivate func setupErased(channel: any Channel, logger: Logger) -> EventLoopFuture<any ServerChildChannelValue> {
    setup(channel: channel, logger: logger).map { $0 as any ServerChildChannelValue }
  }

  /// `handle(value:logger:)` for an erased value (always this channel's own).
  fileprivate func handleErased(value: any ServerChildChannelValue, logger: Logger) async {
    guard let value = value as? Value else { return }
    await handle(value: value, logger: logger)
  }
}
