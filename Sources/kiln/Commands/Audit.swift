import ArgumentParser
import Foundation
import KilnClient

struct Audit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "The audit trail, newest first (ADMIN): every mutating call, refused ones included.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "Only calls by this user.") var actor: String?
  @Option(help: "Only this method, e.g. PauseJob.") var method: String?
  @Option(help: "Only calls on this job id, project, user or token id.") var target: String?
  @Option(help: "Only calls in this project.") var project: String?
  @Flag(help: "Only refused or failed calls.") var failures = false
  @Option(help: "Only calls in the last 90s, 15m, 12h, 30d...") var since: String?
  @Option(help: "Events per page (0: the server's default, 100).") var limit = 0
  @Option(help: "Continue from a page token printed by a previous call.") var pageToken: String?

  func run() async throws {
    struct EventJSON: Encodable {
      var id: Int64
      var time: Date
      var actor: String
      var token_id: String
      var method: String
      var target_kind: String
      var target: String
      var project: String
      var code: Int
      var message: String
      var peer: String
    }
    let from = try since.map { Date().addingTimeInterval(-Double(try parseDuration($0, option: "--since").components.seconds)) }
    let filter = AuditFilter(
      actor: actor, method: method, target: target, project: project, failuresOnly: failures, from: from)
    try await reporting {
      let page = try await global.connect { try await $0.auditEvents(filter: filter, pageSize: limit, pageToken: pageToken) }
      switch global.output {
      case .json:
        for e in page.events {
          printJSONLine(
            EventJSON(
              id: e.id, time: e.time, actor: e.actor, token_id: e.tokenID, method: e.method, target_kind: e.targetKind,
              target: e.target, project: e.project, code: e.code, message: e.message, peer: e.peer))
        }
      case .table:
        printTable(
          ["TIME", "ACTOR", "METHOD", "TARGET", "PROJECT", "RESULT"],
          page.events.map { e in
            [
              formatTime(e.time), e.actor.isEmpty ? "(no token)" : e.actor,
              String(e.method.split(separator: "/").last ?? ""), e.target, e.project,
              e.outcome.map { "\($0): \(e.message)" } ?? "OK",
            ]
          })
        if let next = page.nextPageToken { print("next page: --page-token \(next)") }
      }
    }
  }
}
