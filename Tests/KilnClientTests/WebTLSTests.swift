import AsyncHTTPClient
import Foundation
import KilnServer
import KilnTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

@Suite("The web monitor over TLS", .timeLimit(.minutes(3)))
struct WebTLSTests {
  @Test("with kilnd's certificate the web port speaks HTTPS and HTTP/2, its session cookie Secure; plain HTTP gets nothing")
  func httpsAndHTTP2() async throws {
    let certificates = try TestCertificates()
    defer { certificates.cleanUp() }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.tls = ServerTLS(certificateChainPath: certificates.certificateFile, privateKeyPath: certificates.keyFile)
      $0.httpPort = 0
    }) { _, app in
      let port = try #require(await app.httpPort)
      var tls = TLSConfiguration.makeClientConfiguration()
      tls.trustRoots = .file(certificates.caFile)
      var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
      configuration.httpVersion = .automatic
      let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
      defer { _ = client.shutdown() }

      let page = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/"), timeout: .seconds(30))
      #expect(page.status == .ok)
      #expect(page.version == .http2, "HTTP/2 by ALPN: one connection carries every stream of a tab")

      var login = HTTPClientRequest(url: "https://127.0.0.1:\(port)/api/session")
      login.method = .POST
      login.headers.add(name: "Content-Type", value: "application/json")
      login.body = .bytes(ByteBuffer(string: #"{"token":"\#(try harness.adminToken)"}"#))
      let session = try await client.execute(login, timeout: .seconds(30))
      #expect(session.status == .ok)
      let cookie = try #require(session.headers.first(name: "Set-Cookie"))
      #expect(cookie.contains("Secure") && cookie.contains("HttpOnly"), "\(cookie)")

      // A plaintext request to the TLS port is not served.
      let plain = await #expect(throws: (any Error).self) {
        _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(10))
      }
      #expect(plain != nil)
    }
  }

  @Test("with --tls-client-ca the web port, like the gRPC port, serves only clients with a certificate the CA signed")
  func mutualTLS() async throws {
    let certificates = try TestCertificates()
    defer { certificates.cleanUp() }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.tls = ServerTLS(
        certificateChainPath: certificates.certificateFile, privateKeyPath: certificates.keyFile,
        clientCAPath: certificates.caFile)
      $0.httpPort = 0
    }) { _, app in
      let port = try #require(await app.httpPort)
      func client(withCertificate: Bool) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificates.caFile)
        if withCertificate {
          tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificates.clientCertificateFile).map { .certificate($0) }
          tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificates.clientKeyFile, format: .pem))
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
      }
      let trusted = try client(withCertificate: true)
      let anonymous = try client(withCertificate: false)
      defer {
        _ = trusted.shutdown()
        _ = anonymous.shutdown()
      }
      let page = try await trusted.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/"), timeout: .seconds(30))
      #expect(page.status == .ok)
      let refused = await #expect(throws: (any Error).self) {
        _ = try await anonymous.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/"), timeout: .seconds(30))
      }
      #expect(refused != nil, "a client without a certificate is refused at the handshake")
    }
  }
}
