import ArgumentParser
import Foundation
import KilnClient

/// A user as `-o json` prints it.
struct UserJSON: Encodable {
  var name: String
  var admin: Bool
  var disabled: Bool
  var create_time: Date
  var roles: [String: String]

  init(_ user: User) {
    name = user.name
    admin = user.isAdmin
    disabled = user.isDisabled
    create_time = user.createTime
    roles = user.roles.mapValues(\.rawValue)
  }
}

/// `project:ROLE, ...` for a table.
func rolesText(_ user: User) -> String {
  if user.isAdmin { return "ADMIN" }
  return user.roles.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }.joined(separator: " ")
}

struct Users: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List users with their roles (ADMIN).")
  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reporting {
      let users = try await global.connect { try await $0.users() }
      switch global.output {
      case .json: for user in users { printJSONLine(UserJSON(user)) }
      case .table:
        printTable(
          ["USER", "ROLES", "STATE", "CREATED"],
          users.map { [$0.name, rolesText($0), $0.isDisabled ? "disabled" : "enabled", formatTime($0.createTime)] })
      }
    }
  }
}

struct UserCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "user", abstract: "Create, disable or enable a user (ADMIN).",
    subcommands: [Create.self, Disable.self, Enable.self])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a user; then 'kiln grant' a role and 'kiln token create --user' a token.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Letters, digits, '_', '-', '.' and '@'.") var name: String
    @Flag(help: "A system administrator: every project, every operation.") var admin = false

    func run() async throws {
      try await reporting {
        let user = try await global.connect { try await $0.createUser(name, admin: admin) }
        switch global.output {
        case .json: printJSONLine(UserJSON(user))
        case .table: print("created \(user.isAdmin ? "ADMIN" : "user") \(user.name)")
        }
      }
    }
  }

  struct Disable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Disable a user: their tokens are refused and their watches end.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The user's name.") var name: String

    func run() async throws { try await setDisabled(global, name, true) }
  }

  struct Enable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The user's name.") var name: String

    func run() async throws { try await setDisabled(global, name, false) }
  }
}

private func setDisabled(_ global: GlobalOptions, _ name: String, _ disabled: Bool) async throws {
  try await Users().reporting {
    let user = try await global.connect { disabled ? try await $0.disableUser(name) : try await $0.enableUser(name) }
    switch global.output {
    case .json: printJSONLine(UserJSON(user))
    case .table: print("\(disabled ? "disabled" : "enabled") \(user.name)")
    }
  }
}

struct Grant: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Give a user a role in a project, replacing the one they had (ADMIN).",
    discussion: "viewer: read, watch and follow logs. operator: also submit and operate jobs.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "The user's name.") var user: String
  @Argument(help: "viewer or operator.") var role: String
  @Option(help: "The project (in the prompt, the one chosen with 'use').") var project: String?

  func run() async throws {
    guard let projectRole = ProjectRole(rawValue: role.uppercased()) else {
      throw ValidationError("role \(role): viewer or operator")
    }
    guard let project else { throw ValidationError("give --project") }
    try await reporting {
      try await global.connect { try await $0.grantRole(projectRole, to: user, in: project) }
      if global.output == .table { print("\(user) is \(projectRole.rawValue) of \(project)") }
    }
  }
}

struct Revoke: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Take a user's role in a project away (ADMIN); their open watches end.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "The user's name.") var user: String
  @Option(help: "The project (in the prompt, the one chosen with 'use').") var project: String?

  func run() async throws {
    guard let project else { throw ValidationError("give --project") }
    try await reporting {
      try await global.connect { try await $0.revokeRole(from: user, in: project) }
      if global.output == .table { print("\(user) has no role in \(project) now") }
    }
  }
}

struct WhoAmI: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Who the server takes you for.")
  @OptionGroup var global: GlobalOptions

  func run() async throws {
    struct IdentityJSON: Encodable {
      var user: UserJSON
      var token_id: String?
      var authentication_enabled: Bool
    }
    try await reporting {
      let me = try await global.connect { try await $0.whoAmI() }
      switch global.output {
      case .json:
        printJSONLine(IdentityJSON(user: UserJSON(me.user), token_id: me.tokenID, authentication_enabled: me.authenticationEnabled))
      case .table:
        let roles = rolesText(me.user)
        print("\(me.user.name)\(roles.isEmpty ? " (no roles)" : " — \(roles)")")
        if let token = me.tokenID { print("token \(token)") }
        if !me.authenticationEnabled { print("the server does not authenticate: everyone is an ADMIN") }
      }
    }
  }
}
