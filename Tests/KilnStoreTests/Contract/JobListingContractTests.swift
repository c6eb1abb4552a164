import Foundation
import KilnCore
import KilnStore
import Testing

/// Filters, orders and pages of ``JobRecordStore/listJobs(filter:order:limit:after:)``, for every store.
@Suite("Store contract: listing jobs", .timeLimit(.minutes(3)))
struct JobListingContractTests {
  /// A store with jobs across projects, statuses, types and subjects, created a second apart.
  func seed(_ store: any ContractStore, count: Int = 60) async throws -> [Job] {
    let base = Date(timeIntervalSince1970: 1_700_000_000)
    var jobs: [Job] = []
    for i in 0..<count {
      var job = makeJob(
        id: String(format: "job-%03d", i), project: ["p1", "p2", "p3"][i % 3], type: ["A", "B"][i % 2],
        subject: ["orders", "Sales_model", "users", "sales_2"][i % 4], created: base.addingTimeInterval(Double(i / 2)))
      job.status = JobStatus.allCases[i % 6]
      job.durationMillis = Int64((i * 37) % 11)
      jobs.append(try #require(try await store.insert(job, idempotency: nil).job))
    }
    return jobs
  }

  static let filters: [JobFilter] = [
    JobFilter(),
    JobFilter(projects: ["p1"]),
    JobFilter(projects: ["p2", "p3"], statuses: [.running, .error]),
    JobFilter(jobTypes: ["B"]),
    JobFilter(subject: "orders"),
    JobFilter(key: "SALES"),
    JobFilter(key: "job-01"),
    JobFilter(createdFrom: Date(timeIntervalSince1970: 1_700_000_005), createdTo: Date(timeIntervalSince1970: 1_700_000_012)),
    JobFilter(projects: ["nope"]),
  ]

  @Test("the store's filter selects exactly what JobFilter.matches selects", arguments: StoreUnderTest.all)
  func storeAgreesWithMatches(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let jobs = try await seed(store)
      for filter in Self.filters {
        let page = try await store.listJobs(filter: filter, order: JobOrder(), limit: 1000, after: nil)
        #expect(Set(page.jobs.map(\.id)) == Set(jobs.filter(filter.matches).map(\.id)), "\(filter)")
        #expect(page.totalCount == jobs.filter(filter.matches).count, "\(filter)")
        #expect(page.next == nil)
      }
    }
  }

  @Test(
    "total_size by project and status stays exact through status changes, moves and deletes", arguments: StoreUnderTest.all)
  func countsByProjectAndStatus(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      var jobs = try await seed(store, count: 30)
      for (i, job) in jobs.enumerated() where i % 3 == 0 {
        let target = JobStatus.allCases[(i / 3) % 6]
        let result = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) {
          (job: inout Job) throws(KilnError) -> JobChange in
          job.status = target
          job.progress += 1  // a change that is not the status's rides along
          return .update(.updated)
        }
        jobs[i] = try #require(result.job)
      }
      for job in jobs.prefix(5) {
        _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) {
          (_: inout Job) throws(KilnError) -> JobChange in .delete
        }
      }
      let remaining = Array(jobs.dropFirst(5))
      for filter in [
        JobFilter(), JobFilter(projects: ["p1"]), JobFilter(statuses: [.finished, .error]),
        JobFilter(projects: ["p2", "p3"], statuses: [.paused]), JobFilter(projects: ["nope"]),
      ] {
        let page = try await store.listJobs(filter: filter, order: JobOrder(), limit: 1, after: nil)
        #expect(page.totalCount == remaining.filter(filter.matches).count, "\(filter)")
      }
      let counts = try await store.jobCounts().counts
      for project in ["p1", "p2", "p3"] {
        for status in JobStatus.allCases {
          let expected = remaining.filter { $0.project == project && $0.status == status }.count
          #expect((counts.first { $0.project == project && $0.status == status }?.count ?? 0) == expected)
        }
      }
    }
  }

  @Test(
    "a page carries the revision it is consistent at: exactly the jobs committed up to it, even while others commit",
    arguments: StoreUnderTest.all)
  func pageRevision(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let seeded = try await seed(store, count: 6)
      let quiet = try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 1000, after: nil)
      #expect(quiet.revision == (try await store.currentRevision()))
      #expect(quiet.revision == seeded.map(\.revision).max())

      // Inserts race lists; afterwards each page must hold exactly the jobs whose
      // revision is at most the page's.
      let pages = try await withThrowingTaskGroup(of: [JobPage].self) { group in
        group.addTask {
          for i in 0..<40 {
            _ = try await store.insert(makeJob(id: String(format: "race-%03d", i), project: "p1"), idempotency: nil)
          }
          return []
        }
        group.addTask {
          var pages: [JobPage] = []
          for _ in 0..<25 {
            pages.append(try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 1000, after: nil))
          }
          return pages
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      let all = try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 1000, after: nil).jobs
      for page in pages {
        let expected = Set(all.filter { $0.revision <= page.revision }.map(\.id))
        #expect(Set(page.jobs.map(\.id)) == expected, "the page at revision \(page.revision)")
      }
    }
  }

  @Test("walking pages visits every job once in order, for every order", arguments: StoreUnderTest.all)
  func pagination(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let jobs = try await seed(store)
      for field in JobOrder.Field.allCases {
        for ascending in [true, false] {
          try await walkPages(store, jobs, JobOrder(field: field, ascending: ascending))
        }
      }
    }
  }

  func walkPages(_ store: any ContractStore, _ jobs: [Job], _ order: JobOrder) async throws {
    let (field, ascending) = (order.field, order.ascending)
    var seen: [Job] = []
    var cursor: JobPageCursor?
    var pages = 0
    repeat {
      let page = try await store.listJobs(filter: JobFilter(), order: order, limit: 7, after: cursor)
      #expect(page.totalCount == jobs.count)
      seen += page.jobs
      cursor = page.next
      pages += 1
    } while cursor != nil && pages < 100
    #expect(seen.count == jobs.count, "\(order)")
    #expect(Set(seen.map(\.id)).count == jobs.count, "\(order)")
    let expected = jobs.sorted { a, b in
      let (x, y) = ascending ? (a, b) : (b, a)
      let kx = Self.key(x, field), ky = Self.key(y, field)
      return kx == ky ? x.id < y.id : kx < ky
    }
    #expect(seen.map(\.id) == expected.map(\.id))
  }

  static func key(_ job: Job, _ field: JobOrder.Field) -> String {
    switch field {
    case .createTime: String(format: "%020.0f", job.createTime.timeIntervalSince1970 * 1000)
    case .updateTime: String(format: "%020.0f", job.updateTime.timeIntervalSince1970 * 1000)
    case .duration: String(format: "%020d", job.durationMillis)
    case .status: String(JobStatus.allCases.firstIndex(of: job.status)!)
    case .jobType: job.jobType
    case .project: job.project
    case .subject: job.subject
    }
  }

  @Test("pages stay correct while jobs are inserted between them", arguments: StoreUnderTest.all)
  func paginationWhileInserting(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let jobs = try await seed(store, count: 30)
      var seen: [String] = []
      var cursor: JobPageCursor?
      var inserted = 0
      repeat {
        let page = try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 4, after: cursor)
        seen += page.jobs.map(\.id)
        cursor = page.next
        // Newer jobs sort before the cursor (newest first): they must not shift later pages.
        _ = try await store.insert(makeJob(id: "new-\(inserted)"), idempotency: nil)
        inserted += 1
      } while cursor != nil
      #expect(seen == jobs.sorted { ($0.createTime, $0.id) > ($1.createTime, $1.id) }.map(\.id))
    }
  }
}
