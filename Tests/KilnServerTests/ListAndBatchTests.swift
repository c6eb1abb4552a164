import Foundation
import GRPCCore
import KilnProto
import SwiftProtobuf
import KilnTestSupport
import Testing

@Suite("ListJobs and BatchJobs end to end over HTTP/2", .timeLimit(.minutes(3)))
struct ListAndBatchTests {
  static let long = ["sleep_ms": "600000"]

  @Test("pages walk every job exactly once while jobs are inserted between pages")
  func paginationWhileInserting() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      var ids: [String] = []
      for i in 0..<23 { ids.append(try await jobs.submit(subject: "s\(i)", params: Self.long).id) }
      var seen: [String] = []
      var token = ""
      var pages = 0
      repeat {
        let page = try await jobs.listJobs(.with {
          $0.pageSize = 5
          $0.pageToken = token
          $0.orderBy = .with { $0.field = .createTime }
        })
        seen += page.jobs.map(\.id)
        token = page.nextPageToken
        pages += 1
        _ = try await jobs.submit(subject: "inserted-\(pages)", params: Self.long)
      } while !token.isEmpty
      #expect(pages == 5)
      #expect(seen.count == 23)
      #expect(Set(seen) == Set(ids))
      #expect(seen == seen.sorted { a, b in ids.firstIndex(of: a)! > ids.firstIndex(of: b)! }, "newest first")
    }
  }

  @Test("filters, order and total_size")
  func filtersAndOrder() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      let a = try await jobs.submit(project: "alpha", type: "INDEX_BUILD", subject: "orders", params: Self.long)
      let b = try await jobs.submit(project: "beta", type: "TABLE_SAMPLING", subject: "users", params: Self.long)
      let c = try await jobs.submit(project: "beta", type: "INDEX_BUILD", subject: "Orders_v2", params: Self.long)
      _ = try await jobs.pauseJob(.with { $0.id = c.id })

      func ids(_ filter: Kiln_V1_JobFilter, order: Kiln_V1_JobOrder = .init()) async throws -> [String] {
        let response = try await jobs.listJobs(.with {
          $0.filter = filter
          $0.orderBy = order
        })
        #expect(response.totalSize == Int64(response.jobs.count))
        return response.jobs.map(\.id)
      }
      #expect(try await ids(.init()) == [c.id, b.id, a.id])
      #expect(try await ids(.with { $0.projects = ["beta"] }) == [c.id, b.id])
      #expect(try await ids(.with { $0.statuses = [.paused] }) == [c.id])
      #expect(try await ids(.with { $0.jobTypes = ["INDEX_BUILD"] }) == [c.id, a.id])
      #expect(try await ids(.with { $0.subject = "users" }) == [b.id])
      #expect(try await ids(.with { $0.key = "ORDERS" }) == [c.id, a.id])
      #expect(try await ids(.with { $0.key = String(b.id.prefix(8)) }) == [b.id])
      #expect(try await ids(.with { $0.createTimeFrom = b.createTime }) == [c.id, b.id])
      #expect(try await ids(.with { $0.createTimeTo = b.createTime }) == [a.id])
      #expect(try await ids(.init(), order: .with {
        $0.field = .project
        $0.ascending = true
      }) == [a.id] + [b.id, c.id].sorted(), "ties are broken by id")
      #expect(try await ids(.init(), order: .with {
        $0.field = .subject
        $0.ascending = true
      }) == [c.id, a.id, b.id])
      #expect(try await ids(.init(), order: .with {
        $0.field = .status
        $0.ascending = true
      }).last == c.id)
    }
  }

  @Test("ListJobs input errors: page size, page token, enums, time range")
  func listErrors() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      for i in 0..<3 { _ = try await jobs.submit(subject: "s\(i)", params: Self.long) }
      await expectRPCError(.invalidArgument, mentioning: "page_size") {
        _ = try await jobs.listJobs(.with { $0.pageSize = -1 })
      }
      let big = try await jobs.listJobs(.with { $0.pageSize = 100_000 })
      #expect(big.jobs.count == 3 && big.nextPageToken.isEmpty)

      let first = try await jobs.listJobs(.with { $0.pageSize = 1 })
      #expect(!first.nextPageToken.isEmpty)
      var tampered = Array(first.nextPageToken)
      tampered[3] = tampered[3] == "A" ? "B" : "A"
      await expectRPCError(.invalidArgument, mentioning: "page_token") {
        _ = try await jobs.listJobs(.with {
          $0.pageSize = 1
          $0.pageToken = String(tampered)
        })
      }
      await expectRPCError(.invalidArgument, mentioning: "page_token") {
        _ = try await jobs.listJobs(.with { $0.pageToken = "garbage" })
      }
      await expectRPCError(.invalidArgument, mentioning: "different filter or order") {
        _ = try await jobs.listJobs(.with {
          $0.pageSize = 1
          $0.pageToken = first.nextPageToken
          $0.filter.projects = ["p1"]
        })
      }
      await expectRPCError(.invalidArgument, mentioning: "different filter or order") {
        _ = try await jobs.listJobs(.with {
          $0.pageSize = 1
          $0.pageToken = first.nextPageToken
          $0.orderBy.ascending = true
        })
      }
      // A different page size with the same token is fine.
      let second = try await jobs.listJobs(.with {
        $0.pageSize = 5
        $0.pageToken = first.nextPageToken
      })
      #expect(second.jobs.count == 2)
      await expectRPCError(.invalidArgument, mentioning: "filter.statuses[1]") {
        _ = try await jobs.listJobs(.with { $0.filter.statuses = [.running, .UNRECOGNIZED(42)] })
      }
      await expectRPCError(.invalidArgument, mentioning: "order_by.field") {
        _ = try await jobs.listJobs(.with { $0.orderBy.field = .UNRECOGNIZED(99) })
      }
      await expectRPCError(.invalidArgument, mentioning: "create_time_from") {
        _ = try await jobs.listJobs(.with {
          $0.filter.createTimeFrom = Google_Protobuf_Timestamp(seconds: 200)
          $0.filter.createTimeTo = Google_Protobuf_Timestamp(seconds: 100)
        })
      }
    }
  }

  @Test("BatchJobs by ids: each job is applied or refused on its own, with counts")
  func batchByIDs() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      let running = try await jobs.submit(params: Self.long)
      #expect(try await jobs.waitFor(running.id, .running))
      let pending = try await jobs.submit(params: Self.long)
      let finished = try await jobs.submit(params: ["sleep_ms": "0"])
      _ = try await jobs.discardJob(.with { $0.id = finished.id })

      let response = try await jobs.batchJobs(.with {
        $0.action = .pause
        $0.ids = .with { $0.ids = [running.id, "missing", finished.id, pending.id, running.id] }
      })
      #expect(response.succeeded == 2)
      #expect(response.failed == 2)
      #expect(response.results.map(\.id) == [running.id, "missing", finished.id, pending.id])
      #expect(response.results[0].ok && response.results[0].job.status == .paused)
      #expect(!response.results[1].ok && response.results[1].error.code == 5)
      #expect(!response.results[2].ok && response.results[2].error.code == 9)
      #expect(response.results[2].error.message.contains("DISCARDED"))
      #expect(response.results[3].ok && response.results[3].job.status == .paused)
      #expect(try await jobs.get(finished.id).status == .discarded, "the refused job is unchanged")

      let deleted = try await jobs.batchJobs(.with {
        $0.action = .delete
        $0.ids = .with { $0.ids = [finished.id] }
      })
      #expect(deleted.succeeded == 1)
      #expect(deleted.results[0].ok && deleted.results[0].outcome == nil)
    }
  }

  @Test("BatchJobs by filter: 'select all' across projects, and narrowed by project and status")
  func batchByFilter() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      var alpha: [String] = []
      var beta: [String] = []
      for i in 0..<3 { alpha.append(try await jobs.submit(project: "alpha", subject: "a\(i)", params: Self.long).id) }
      for i in 0..<2 { beta.append(try await jobs.submit(project: "beta", subject: "b\(i)", params: Self.long).id) }

      let pauseBeta = try await jobs.batchJobs(.with {
        $0.action = .pause
        $0.filter = .with { $0.projects = ["beta"] }
      })
      #expect(Set(pauseBeta.results.map(\.id)) == Set(beta))
      #expect(pauseBeta.succeeded == 2)

      let discardAll = try await jobs.batchJobs(.with {
        $0.action = .discard
        $0.filter = .init()
        $0.requestID = "discard-everything"
      })
      #expect(discardAll.succeeded == 5)
      #expect(Set(discardAll.results.map(\.id)) == Set(alpha + beta))

      // Repeating the batch returns the first answer instead of five refusals.
      let repeated = try await jobs.batchJobs(.with {
        $0.action = .discard
        $0.filter = .init()
        $0.requestID = "discard-everything"
      })
      #expect(repeated.succeeded == 5)

      let deletePaused = try await jobs.batchJobs(.with {
        $0.action = .delete
        $0.filter = .with { $0.statuses = [.discarded] }
      })
      #expect(deletePaused.succeeded == 5)
      #expect(try await jobs.listJobs(.init()).totalSize == 0)
    }
  }

  @Test("BatchJobs input errors")
  func batchErrors() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, _ in
      await expectRPCError(.invalidArgument, mentioning: "action") {
        _ = try await jobs.batchJobs(.with { $0.ids = .with { $0.ids = ["x"] } })
      }
      await expectRPCError(.invalidArgument, mentioning: "selector") {
        _ = try await jobs.batchJobs(.with { $0.action = .pause })
      }
      await expectRPCError(.invalidArgument, mentioning: "ids") {
        _ = try await jobs.batchJobs(.with {
          $0.action = .pause
          $0.ids = .init()
        })
      }
      await expectRPCError(.invalidArgument, mentioning: "filter.statuses[0]") {
        _ = try await jobs.batchJobs(.with {
          $0.action = .pause
          $0.filter = .with { $0.statuses = [.unspecified] }
        })
      }
    }
  }
}
