import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny real HTTP/1 server on 127.0.0.1 (an ephemeral port) that records the
/// callbacks it receives and answers each as `answer` says: a status, or never.
/// Built on SwiftNIO, so no thread of the Swift concurrency pool ever blocks on it.
final class CallbackReceiver: Sendable {
  /// How the receiver answers its n-th request (1-based).
  enum Answer: Sendable {
    /// An answer with this HTTP status and an empty body.
    case status(Int)
    /// Accepts the request and never answers.
    case never
  }

  /// A request as received.
  struct Received: Sendable {
    var method: String
    var uri: String
    var headers: [String: String]
    var body: Data
  }

  private let state = Mutex(State())
  private let serverChannel: Mutex<(any Channel)?> = Mutex(nil)
  private let answer: @Sendable (Int) -> Answer

  private struct State {
    var received: [Received] = []
    var connections: [any Channel] = []
  }

  /// The URL to post callbacks to, once started.
  let url: String

  private init(url: String, answer: @escaping @Sendable (Int) -> Answer) {
    self.url = url
    self.answer = answer
  }

  /// Starts a receiver that answers its n-th request with `answer(n)`.
  static func start(path: String = "/hook", _ answer: @escaping @Sendable (Int) -> Answer) async throws -> CallbackReceiver {
    let box = Box()
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(Handler(box: box))
          box.receiver?.state.withLock { $0.connections.append(channel) }
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    let receiver = CallbackReceiver(url: "http://127.0.0.1:\(port)\(path)", answer: answer)
    receiver.serverChannel.withLock { $0 = channel }
    box.set(receiver)
    return receiver
  }

  /// The requests received so far, in order.
  var received: [Received] { state.withLock { $0.received } }

  /// Closes the listening socket and every connection.
  func stop() async {
    let server = serverChannel.withLock { $0 }
    let connections = state.withLock { $0.connections }
    for connection in connections { try? await connection.close() }
    try? await server?.close()
  }

  /// Records a request; returns how to answer it.
  fileprivate func record(_ request: Received) -> Answer {
    let count = state.withLock { state in
      state.received.append(request)
      return state.received.count
    }
    return answer(count)
  }

  /// The receiver, set once it exists (the bootstrap needs it before).
  fileprivate final class Box: Sendable {
    private let value = Mutex<CallbackReceiver?>(nil)
    var receiver: CallbackReceiver? { value.withLock { $0 } }
    func set(_ receiver: CallbackReceiver) { value.withLock { $0 = receiver } }
  }

  private final class Handler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: Box
    private var head: HTTPRequestHead?
    private var body = Data()

    init(box: Box) {
      self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head):
        self.head = head
        body = Data()
      case .body(var buffer):
        body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
      case .end:
        guard let head, let receiver = box.receiver else { return }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let request = Received(method: "\(head.method)", uri: head.uri, headers: headers, body: body)
        switch receiver.record(request) {
        case .never:
          break
        case .status(let code):
          var responseHeaders = HTTPHeaders()
          responseHeaders.add(name: "Content-Length", value: "0")
          let responseHead = HTTPResponseHead(
            version: head.version, status: HTTPResponseStatus(statusCode: code), headers: responseHeaders)
          context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
          context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        self.head = nil
      }
    }
  }
}
