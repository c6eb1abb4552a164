import Foundation
import KilnCore
public import PostgresNIO

/// Reads a PostgreSQL connection URL as libpq does, for `kilnd --store`.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]` (`postgresql://`
/// too). `host=/run/postgresql` in the query connects through that directory's Unix
/// socket instead. `sslmode` follows libpq: `disable`; `prefer` (the default: TLS when
/// the server offers it, unverified); `require` (TLS, unverified); `verify-full` (TLS,
/// the certificate checked against the system's roots and the host name).
/// `pool_size=N` (Kiln's own, not libpq's) caps the connections kilnd opens (default
/// 20).
public enum PostgresURL {
  /// The client configuration for `url`.
  /// - Throws: ``KilnError`` (invalid argument, field `store`) naming what is wrong.
  public static func configuration(from url: String) throws -> PostgresClient.Configuration {
    func invalid(_ why: String) -> KilnError {
      KilnError.invalidArgument(field: "store", "\(why) (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")
    }
    guard let components = URLComponents(string: url), let scheme = components.scheme,
      ["postgres", "postgresql"].contains(scheme.lowercased())
    else { throw invalid("not a postgres:// URL") }
    guard let user = components.user, !user.isEmpty else { throw invalid("the URL names no user") }
    let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
    guard !database.isEmpty else { throw invalid("the URL names no database") }
    let query = Dictionary(
      (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
    let password = components.password

    if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
      let port = components.port ?? 5432
      var configuration = PostgresClient.Configuration(
        unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password,
        database: database)
      try applyPoolSize(query["pool_size"], to: &configuration, invalid: invalid)
      return configuration
    }
    guard let host = components.host, !host.isEmpty else { throw invalid("the URL names no host") }
    let tls: PostgresClient.Configuration.TLS
    switch query["sslmode"] ?? "prefer" {
    case "disable":
      tls = .disable
    case "prefer", "allow":
      tls = .prefer(unverified)
    case "require":
      tls = .require(unverified)
    case "verify-full":
      tls = .require(.makeClientConfiguration())
    case let other:
      throw invalid("sslmode \(other) is not one of disable, prefer, require, verify-full")
    }
    var configuration = PostgresClient.Configuration(
      host: host, port: components.port ?? 5432, username: user, password: password, database: database, tls: tls)
    try applyPoolSize(query["pool_size"], to: &configuration, invalid: invalid)
    return configuration
  }

  private static func applyPoolSize(
    _ value: String?, to configuration: inout PostgresClient.Configuration, invalid: (String) -> KilnError
  ) throws {
    guard let value else { return }
    // The listener and the callback deliverer's lock each keep one connection.
    guard let size = Int(value), (3...1000).contains(size) else {
      throw invalid("pool_size \(value) is not a number from 3 to 1000")
    }
    configuration.options.maximumConnections = size
  }

  /// `url` without its password, for logs and errors.
  public static func redacted(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else { return url }
    components.password = "****"
    return components.string ?? url
  }

  /// TLS that encrypts but does not check the server's certificate (libpq's `prefer`
  /// and `require`).
  private static var unverified: TLSConfiguration {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.certificateVerification = .none
    return configuration
  }
}
