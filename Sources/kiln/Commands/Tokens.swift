import ArgumentParser
import Foundation
import KilnClient

/// A token record as `-o json` prints it (never the secret, but at creation).
struct TokenJSON: Encodable {
  var id: String
  var user: String
  var description: String
  var create_time: Date
  var expire_time: Date?
  var revoke_time: Date?
  var secret: String?

  init(_ token: AccessToken, secret: String? = nil) {
    id = token.id
    user = token.user
    description = token.description
    create_time = token.createTime
    expire_time = token.expireTime
    revoke_time = token.revokeTime
    self.secret = secret
  }
}

struct Tokens: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List your tokens (or a user's, as an ADMIN), newest first.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "Whose tokens (ADMIN).") var user: String?
  @Flag(help: "Include revoked and expired tokens.") var all = false

  func run() async throws {
    try await reporting {
      let tokens = try await global.connect { try await $0.tokens(of: user, includeInactive: all) }
      switch global.output {
      case .json: for token in tokens { printJSONLine(TokenJSON(token)) }
      case .table:
        let now = Date()
        printTable(
          ["TOKEN", "USER", "CREATED", "EXPIRES", "STATE", "DESCRIPTION"],
          tokens.map { token in
            let state = token.revokeTime != nil ? "revoked" : token.isActive(at: now) ? "active" : "expired"
            return [
              token.id, token.user, formatTime(token.createTime), token.expireTime.map(formatTime) ?? "never", state,
              token.description,
            ]
          })
      }
    }
  }
}

struct TokenCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "token", abstract: "Create or revoke a bearer token.", subcommands: [Create.self, Revoke.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a token and print its secret, which is never shown again.",
      discussion: """
        The secret alone goes to standard output (so `export KILN_TOKEN=$(kiln token create --user ci)` \
        works); what it is goes to standard error.
        """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Whose token (ADMIN; yours by default).") var user: String?
    @Option(help: "What the token is for.") var description = ""
    @Option(help: "How long it works, e.g. 12h or 90d (default: until revoked).") var ttl: String?

    func run() async throws {
      let life = try ttl.map { try parseDuration($0, option: "--ttl") }
      try await reporting {
        let created = try await global.connect { try await $0.createToken(for: user, description: description, ttl: life) }
        switch global.output {
        case .json: printJSONLine(TokenJSON(created.token, secret: created.secret))
        case .table:
          let expiry = created.token.expireTime.map { "expires \(formatTime($0))" } ?? "does not expire"
          FileHandle.standardError.write(
            Data("token \(created.token.id) for \(created.token.user), \(expiry); keep the secret below, it is not shown again\n".utf8))
          print(created.secret)
        }
      }
    }
  }

  struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Revoke a token (yours, or anyone's as an ADMIN): refused from the next call, its watches end.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The token's id (see 'kiln tokens').") var id: String

    func run() async throws {
      try await reporting {
        let token = try await global.connect { try await $0.revokeToken(id) }
        switch global.output {
        case .json: printJSONLine(TokenJSON(token))
        case .table: print("revoked \(token.id) of \(token.user)")
        }
      }
    }
  }
}
