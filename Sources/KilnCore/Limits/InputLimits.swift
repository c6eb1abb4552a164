/// The sizes Kiln accepts in what it stores, and how much of a client's input it ever
/// repeats back.
///
/// A job is read by everyone who lists its project, so one oversized job used to make
/// everyone's default ListJobs exceed the usual 4 MiB message limit; error messages
/// that quoted a 100 KB id broke clients' header limits. Every limit here is checked
/// where the input enters (the engine), refused with INVALID_ARGUMENT naming the field
/// and the limit, and listed in the README.
public enum InputLimits {
  /// The most parameters a job may have.
  public static let maxParams = 64
  /// The longest parameter name, in UTF-8 bytes.
  public static let maxParamNameBytes = 128
  /// The longest parameter value, in UTF-8 bytes.
  public static let maxParamValueBytes = 16 * 1024
  /// The most bytes all of a job's parameter names and values may hold together.
  public static let maxParamsTotalBytes = 64 * 1024
  /// The longest id (job, token, step) a request may name, in UTF-8 bytes.
  public static let maxIDBytes = 128
  /// The most bytes of a client's value an error message or a log line quotes.
  public static let maxQuotedBytes = 64
  /// The longest error message the server sends, in UTF-8 bytes.
  public static let maxMessageBytes = 2048
  /// The longest value of an error's detail (trailing metadata), in UTF-8 bytes.
  public static let maxDetailBytes = 256

  /// Checks a job's parameters against the limits.
  public static func checkParams(_ params: [String: String]) throws(KilnError) {
    guard params.count <= maxParams else {
      throw .invalidArgument(field: "params", "holds \(params.count) parameters, more than the limit of \(maxParams)")
    }
    var total = 0
    for (name, value) in params {
      guard name.utf8.count <= maxParamNameBytes else {
        throw .invalidArgument(
          field: "params", "the parameter name \(quoted(name)) is longer than \(maxParamNameBytes) bytes")
      }
      guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
        throw .invalidArgument(field: "params", "the parameter name \(quoted(name)) contains control characters")
      }
      guard value.utf8.count <= maxParamValueBytes else {
        throw .invalidArgument(
          field: "params.\(name)", "is \(value.utf8.count) bytes, longer than the limit of \(maxParamValueBytes)")
      }
      total += name.utf8.count + value.utf8.count
    }
    guard total <= maxParamsTotalBytes else {
      throw .invalidArgument(field: "params", "holds \(total) bytes, more than the limit of \(maxParamsTotalBytes)")
    }
  }

  /// Checks an id a request names: not empty, not longer than ``maxIDBytes``.
  public static func checkID(_ id: String, field: String) throws(KilnError) {
    guard !id.isEmpty else { throw .invalidArgument(field: field, "is empty") }
    guard id.utf8.count <= maxIDBytes else {
      throw .invalidArgument(field: field, "is \(id.utf8.count) bytes, longer than the limit of \(maxIDBytes)")
    }
  }

  /// A client's value as an error message may quote it: at most ``maxQuotedBytes``,
  /// cut at a character boundary and marked with `…` when cut.
  public static func quoted(_ value: String) -> String {
    value.utf8.count <= maxQuotedBytes ? value : value.utf8Prefix(maxQuotedBytes) + "…"
  }
}

extension String {
  /// The longest prefix of at most `bytes` UTF-8 bytes that ends at a character boundary.
  public func utf8Prefix(_ bytes: Int) -> String {
    guard utf8.count > bytes else { return self }
    var count = max(0, bytes)
    // Back off from the middle of a multi-byte sequence (continuation bytes are 10xxxxxx).
    while count > 0, utf8[utf8.index(utf8.startIndex, offsetBy: count)] & 0xC0 == 0x80 { count -= 1 }
    return String(decoding: utf8.prefix(count), as: UTF8.self)
  }

  /// This text cut to at most `bytes` UTF-8 bytes, ending with `…` when cut.
  public func bounded(toBytes bytes: Int) -> String {
    utf8.count <= bytes ? self : utf8Prefix(max(0, bytes - 3)) + "…"
  }
}
