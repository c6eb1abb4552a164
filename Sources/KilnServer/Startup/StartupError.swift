/// Why the server cannot start, in one line that names the cause.
///
/// `kilnd` prints ``message`` and exits non-zero; nothing has been changed on disk
/// beyond creating the data directory.
public struct StartupError: Error, CustomStringConvertible, Sendable {
  /// The cause, for a person: what is wrong and, where it can tell, who holds what.
  public var message: String

  /// Creates an error with its message.
  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }
}
