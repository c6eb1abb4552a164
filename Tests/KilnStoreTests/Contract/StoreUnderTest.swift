import Foundation
import KilnCore
import KilnPostgresStore
import KilnStore
import KilnTestSupport
import Logging
import Testing

/// What the contract suites need of a store: everything the engine and the access
/// layer ask of one database.
typealias ContractStore = JobStore & AccessStore

/// One store implementation the contract suites run against, fresh for each test.
///
/// The suites in this folder are written once against ``ContractStore`` and run for
/// every entry of ``all``: a second database (PostgreSQL) adds its entry here, and
/// passes when it keeps the rules ``JobStore`` documents.
struct StoreUnderTest: Sendable, CustomTestStringConvertible {
  /// The name in test output.
  let name: String
  /// Opens an empty store; the returned closure removes what it left behind.
  let open: @Sendable () async throws -> (any ContractStore, @Sendable () async -> Void)
  /// Opens a database with `count` stores on it, as `count` kilnd processes would, or
  /// `nil` when the database cannot be shared (SQLite in memory). The returned closure
  /// closes them and removes the database.
  var openShared: (@Sendable (_ count: Int) async throws -> ([any ContractStore], @Sendable () async -> Void))?
  /// Whether a store announces the commits other stores on its database make (through
  /// ``JobEventLog/commitNotifications()``): PostgreSQL's NOTIFY does; SQLite has no
  /// such channel, and kilnd keeps one process per SQLite file.
  var announcesOtherStoresCommits = false

  var testDescription: String { name }

  /// The entries whose database several stores can share.
  static var sharable: [StoreUnderTest] { all.filter { $0.openShared != nil } }

  /// Every implementation the contract holds for: PostgreSQL too when
  /// `KILN_TEST_POSTGRES_URL` names a server (`dev/postgres.sh start` prints one; CI
  /// always sets it).
  static let all: [StoreUnderTest] =
    [.sqliteFile, .sqliteInMemory] + (PostgresScratchDatabase.serverURL == nil ? [] : [.postgres])

  /// PostgreSQL: a database of its own for each test, dropped afterwards.
  static let postgres = StoreUnderTest(
    name: "PostgreSQL",
    open: {
      let (stores, cleanUp) = try await openPostgres(count: 1)
      return (stores[0], cleanUp)
    },
    openShared: { count in try await openPostgres(count: count) },
    announcesOtherStoresCommits: true)

  private static func openPostgres(count: Int) async throws -> ([any ContractStore], @Sendable () async -> Void) {
    let database = try await PostgresScratchDatabase.create()
    var stores: [PostgresJobStore] = []
    for _ in 0..<count {
      stores.append(try await PostgresJobStore(url: database.url, logger: PostgresScratchDatabase.logger))
    }
    let opened = stores
    return (opened, {
      for store in opened { await store.close() }
      await database.drop()
    })
  }

  /// SQLite in WAL mode on a file: a pool of readers beside one writer, as kilnd runs.
  static let sqliteFile = StoreUnderTest(
    name: "SQLite file",
    open: {
      let (stores, cleanUp) = try openSQLiteFile(count: 1)
      return (stores[0], cleanUp)
    },
    openShared: { count in try openSQLiteFile(count: count) })

  private static func openSQLiteFile(count: Int) throws -> ([any ContractStore], @Sendable () async -> Void) {
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("kiln.sqlite").path
    let stores: [any ContractStore] = try (0..<count).map { _ in try SQLiteJobStore(path: path) }
    return (stores, { try? FileManager.default.removeItem(at: directory) })
  }

  /// SQLite in memory: one connection for reads and writes.
  static let sqliteInMemory = StoreUnderTest(name: "SQLite in memory", open: { (try SQLiteJobStore.inMemory(), {}) })

  /// Runs `body` with `count` stores on one fresh database (seeded as ``withStore(_:)``
  /// seeds), then removes it.
  func withSharedStores<Result>(_ count: Int, _ body: ([any ContractStore]) async throws -> Result) async throws
    -> Result
  {
    guard let openShared else { throw CocoaError(.featureUnsupported) }
    let (stores, cleanUp) = try await openShared(count)
    do {
      try await seedProjects(stores[0])
      let result = try await body(stores)
      await cleanUp()
      return result
    } catch {
      await cleanUp()
      throw error
    }
  }

  /// Runs `body` with a fresh store holding the projects the tests use, each with its
  /// ``testSubjects(project:)``, then removes the store.
  func withStore<Result>(_ body: (any ContractStore) async throws -> Result) async throws -> Result {
    let (store, cleanUp) = try await open()
    do {
      try await seedProjects(store)
      let result = try await body(store)
      await cleanUp()
      return result
    } catch {
      await cleanUp()
      throw error
    }
  }
}

/// The subjects the tests' jobs name, by project: `s` everywhere, the listing tests'
/// names in p1, p2 and p3, and `s0`… in p1.
func testSubjects(project: String) -> [String] {
  var names = ["s"]
  if ["p1", "p2", "p3"].contains(project) { names += ["orders", "Sales_model", "users", "sales_2"] }
  if project == "p1" { names += (0..<25).map { "s\($0)" } }
  return names
}

/// Creates the projects the tests use, each with its ``testSubjects(project:)``.
func seedProjects(_ store: any ContractStore) async throws {
  for name in ["p", "p1", "p2", "p3", "a", "b", "c"] where try await store.project(named: name) == nil {
    try await store.createProject(Project(name: name, description: "", createTime: Date(), creator: "test"))
    for subject in testSubjects(project: name) {
      try await store.createSubject(Subject(project: name, name: subject, createTime: Date(), creator: "test"))
    }
  }
}

/// A SQLite store (in memory, or the file at `path`) seeded like the contract suites',
/// for the tests of what only SQLite does.
func testStore(path: String? = nil) async throws -> SQLiteJobStore {
  let store = try path.map { try SQLiteJobStore(path: $0) } ?? SQLiteJobStore.inMemory()
  try await seedProjects(store)
  return store
}

/// A job in `project` on `subject` with two steps, created at `created`.
func makeJob(
  id: String = UUID().uuidString.lowercased(), project: String = "p1", type: String = "T", subject: String = "s",
  status: JobStatus = .pending, created: Date = .kilnNow()
) -> Job {
  Job(
    id: id, project: project, jobType: type, subject: subject, status: status,
    steps: [Step(name: "A", index: 0), Step(name: "B", index: 1)], submitter: "tester", createTime: created,
    updateTime: created, queuedTime: status == .pending ? created : nil)
}

/// A new empty directory under the temporary directory.
func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Moves a job to `status` in one mutation with an updated event.
func move(_ store: any ContractStore, _ id: String, to status: JobStatus) async throws {
  _ = try await store.mutate(jobID: id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) -> JobChange in
    job.move(to: status, at: .kilnNow())
    return .update(.updated)
  }
}

/// The lease the tests' claims take: held by `test`, never running out.
let testLease = JobLease(owner: "test", expiry: .distantFuture)
