import GRDB
import KilnCore
import KilnStore
import Testing

@Suite("Storage failures")
struct StorageFailureTests {
  @Test(
    "a failure of the disk or file system is UNAVAILABLE naming the cause; other database errors stay unknown",
    arguments: [
      (ResultCode.SQLITE_FULL, "full"), (.SQLITE_READONLY, "read-only"), (.SQLITE_IOERR, "I/O error"),
      (.SQLITE_BUSY, "locked"),
    ])
  func retryable(code: ResultCode, cause: String) {
    let error = StorageFailure.kilnError(for: DatabaseError(resultCode: code))
    #expect(error?.code == .unavailable)
    #expect(error?.message.contains(cause) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains("nothing was changed") == true)
  }

  @Test("a constraint violation or a bug is not a storage failure")
  func notRetryable() {
    #expect(StorageFailure.kilnError(for: DatabaseError(resultCode: .SQLITE_CONSTRAINT)) == nil)
    #expect(StorageFailure.kilnError(for: KilnError(code: .internalError, message: "x")) == nil)
  }
}
