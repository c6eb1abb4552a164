import Foundation
import KilnCore
import KilnStore

/// A store (in memory, or the file at `path`) with the projects the tests use.
func testStore(path: String? = nil) async throws -> SQLiteJobStore {
  let store = try path.map { try SQLiteJobStore(path: $0) } ?? SQLiteJobStore.inMemory()
  for name in ["p", "p1", "p2", "p3", "a", "b", "c"] where try await store.project(named: name) == nil {
    try await store.createProject(Project(name: name, description: "", createTime: Date(), creator: "test"))
  }
  return store
}
