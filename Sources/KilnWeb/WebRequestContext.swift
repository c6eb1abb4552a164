import Hummingbird
import Logging
import NIOCore

/// Hummingbird's request context with the client's address, which the audit trail
/// records for calls made through the HTTP face.
struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
  var coreContext: CoreRequestContextStorage
  let remoteAddress: SocketAddress?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    remoteAddress = source.channel.remoteAddress
  }

  /// The client's address as the audit trail writes gRPC peers (`ipv4:127.0.0.1:5000`).
  var peer: String {
    guard let address = remoteAddress, let ip = address.ipAddress, let port = address.port else { return "unknown" }
    switch address.protocol {
    case .inet6: return "ipv6:[\(ip)]:\(port)"
    default: return "ipv4:\(ip):\(port)"
    }
  }
}
