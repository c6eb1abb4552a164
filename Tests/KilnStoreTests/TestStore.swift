import Foundation
import KilnCore
import KilnStore

/// The subjects the tests' jobs name, by project: `s` everywhere, the listing tests'
/// names in p1, p2 and p3, and `s0`… in p1.
func testSubjects(project: String) -> [String] {
  var names = ["s"]
  if ["p1", "p2", "p3"].contains(project) { names += ["orders", "Sales_model", "users", "sales_2"] }
  if project == "p1" { names += (0..<25).map { "s\($0)" } }
  return names
}

/// A store (in memory, or the file at `path`) with the projects the tests use, each
/// with its ``testSubjects(project:)``.
func testStore(path: String? = nil) async throws -> SQLiteJobStore {
  let store = try path.map { try SQLiteJobStore(path: $0) } ?? SQLiteJobStore.inMemory()
  for name in ["p", "p1", "p2", "p3", "a", "b", "c"] where try await store.project(named: name) == nil {
    try await store.createProject(Project(name: name, description: "", createTime: Date(), creator: "test"))
    for subject in testSubjects(project: name) {
      try await store.createSubject(Subject(project: name, name: subject, createTime: Date(), creator: "test"))
    }
  }
  return store
}
