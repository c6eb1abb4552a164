import GRDB
public import KilnCore

/// Turns a failure of the database underneath into the error a client can act on.
///
/// A full disk, a read-only or failing file system, or a database locked by another
/// process is not a bug of the request: the change was not made (SQLite rolled the
/// transaction back), and the same call succeeds once the cause is gone. Such
/// failures are UNAVAILABLE, naming the cause; anything else stays unknown (INTERNAL).
public enum StorageFailure {
  /// The ``KilnError`` for a database failure that a retry can overcome, or `nil`.
  public static func kilnError(for error: any Error) -> KilnError? {
    // A store that maps its database's failures itself (PostgreSQL) throws them as
    // UNAVAILABLE already.
    if let error = error as? KilnError { return error.code == .unavailable ? error : nil }
    guard let error = error as? DatabaseError else { return nil }
    let cause: String
    switch error.resultCode {
    case .SQLITE_FULL:
      cause = "the disk holding the data directory is full"
    case .SQLITE_READONLY:
      cause = "the database is read-only (a read-only file system or data directory?)"
    case .SQLITE_IOERR:
      cause = "the file system reported an I/O error (\(error.extendedResultCode))"
    case .SQLITE_CANTOPEN:
      cause = "a database file cannot be opened"
    case .SQLITE_BUSY, .SQLITE_LOCKED:
      cause = "the database is locked by another connection"
    default:
      return nil
    }
    return KilnError(
      code: .unavailable,
      message: "the change was not stored: \(cause); nothing was changed, try again once it is resolved")
  }
}
