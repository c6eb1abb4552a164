import Crypto
import Foundation
import KilnClient
import KilnServer
import KilnTestSupport
import SwiftASN1
import Testing
import X509

/// A CA and a server certificate for 127.0.0.1 and localhost, made for one test run
/// and written to a temporary directory; nothing is committed.
struct TestCertificates {
  let directory: URL
  var caFile: String { directory.appendingPathComponent("ca.pem").path }
  var certificateFile: String { directory.appendingPathComponent("server.pem").path }
  var keyFile: String { directory.appendingPathComponent("server-key.pem").path }
  var clientCertificateFile: String { directory.appendingPathComponent("client.pem").path }
  var clientKeyFile: String { directory.appendingPathComponent("client-key.pem").path }

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let now = Date()
    let caKey = P256.Signing.PrivateKey()
    let caName = try DistinguishedName { CommonName("Kiln test CA") }
    let ca = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now - 3600,
      notValidAfter: now + 3600, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
        Critical(KeyUsage(keyCertSign: true))
      }, issuerPrivateKey: .init(caKey))
    let serverKey = P256.Signing.PrivateKey()
    let server = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey), notValidBefore: now - 3600,
      notValidAfter: now + 3600, issuer: caName, subject: try DistinguishedName { CommonName("localhost") },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        try ExtendedKeyUsage([.serverAuth])
        SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
      }, issuerPrivateKey: .init(caKey))
    let clientKey = P256.Signing.PrivateKey()
    let client = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(clientKey.publicKey), notValidBefore: now - 3600,
      notValidAfter: now + 3600, issuer: caName, subject: try DistinguishedName { CommonName("kiln-client") },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        try ExtendedKeyUsage([.clientAuth])
      }, issuerPrivateKey: .init(caKey))
    try client.serializeAsPEM().pemString.write(toFile: clientCertificateFile, atomically: true, encoding: .utf8)
    try clientKey.pemRepresentation.write(toFile: clientKeyFile, atomically: true, encoding: .utf8)
    try ca.serializeAsPEM().pemString.write(toFile: caFile, atomically: true, encoding: .utf8)
    try server.serializeAsPEM().pemString.write(toFile: certificateFile, atomically: true, encoding: .utf8)
    try serverKey.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
  }

  func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("TLS between the SDK and kilnd", .timeLimit(.minutes(3)))
struct TLSTests {
  @Test("a client that trusts the CA talks to a TLS server; a plaintext client fails clearly")
  func tlsEndToEnd() async throws {
    let certificates = try TestCertificates()
    defer { certificates.cleanUp() }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.tls = ServerTLS(certificateChainPath: certificates.certificateFile, privateKeyPath: certificates.keyFile)
    }) { port, _ in
      let secure = KilnClientConfiguration(
        host: "127.0.0.1", port: port, token: try harness.adminToken, tls: ClientTLS(caFile: certificates.caFile))
      let job = try await withKilnClient(secure) { kiln in
        try await kiln.submit(project: "p", type: "INDEX_BUILD", subject: "over-tls", params: ["sleep_ms": "0"])
      }
      #expect(job.subject == "over-tls")

      let plaintext = KilnClientConfiguration(
        host: "127.0.0.1", port: port, timeout: .seconds(30), retry: RetryPolicy(maxAttempts: 1))
      let refused = await #expect(throws: KilnError.self) {
        try await withKilnClient(plaintext) { kiln in try await kiln.job(job.id) }
      }
      #expect(refused?.code == .unavailable)
      #expect(refused?.message.contains("connect over TLS") == true, "\(refused?.message ?? "")")

      let untrusting = KilnClientConfiguration(
        host: "127.0.0.1", port: port, timeout: .seconds(30), retry: RetryPolicy(maxAttempts: 1), tls: ClientTLS())
      let untrusted = await #expect(throws: KilnError.self) {
        try await withKilnClient(untrusting) { kiln in try await kiln.job(job.id) }
      }
      #expect(untrusted?.code == .unavailable, "a server certificate from an unknown CA is refused")
    }
  }

  @Test("mutual TLS: a client with a certificate the server's CA signed is served; one without is refused")
  func mutualTLS() async throws {
    let certificates = try TestCertificates()
    defer { certificates.cleanUp() }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.tls = ServerTLS(
        certificateChainPath: certificates.certificateFile, privateKeyPath: certificates.keyFile,
        clientCAPath: certificates.caFile)
    }) { port, _ in
      let withCertificate = KilnClientConfiguration(
        host: "127.0.0.1", port: port, token: try harness.adminToken,
        tls: ClientTLS(
          caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile,
          keyFile: certificates.clientKeyFile))
      #expect(try await withKilnClient(withCertificate) { try await $0.whoAmI().user.name } == "admin")

      // The deadline only bounds the wait: the refusal comes at the handshake, but a
      // loaded machine running every suite at once has taken more than 5 s to get there.
      let withoutCertificate = KilnClientConfiguration(
        host: "127.0.0.1", port: port, token: try harness.adminToken, timeout: .seconds(30),
        retry: RetryPolicy(maxAttempts: 1), tls: ClientTLS(caFile: certificates.caFile))
      let refused = await #expect(throws: KilnError.self) {
        try await withKilnClient(withoutCertificate) { _ = try await $0.whoAmI() }
      }
      #expect(refused?.code == .unavailable)
    }
  }
}
