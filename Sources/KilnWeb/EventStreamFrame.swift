import NIOCore

/// The Server-Sent Events wire format (WHATWG HTML, "Server-sent events"): what the
/// HTTP face writes for each message of a streaming call.
enum EventStreamFrame {
  /// A message: its id (what a reconnecting browser sends back as `Last-Event-ID`)
  /// and its data, one JSON line (proto JSON has no raw newlines).
  static func message(id: Int64?, json: [UInt8], event: String? = nil) -> ByteBuffer {
    var buffer = ByteBuffer()
    if let event { buffer.writeString("event: \(event)\n") }
    if let id { buffer.writeString("id: \(id)\n") }
    buffer.writeString("data: ")
    buffer.writeBytes(json)
    buffer.writeString("\n\n")
    return buffer
  }

  /// The first bytes of every stream: how long a browser waits before reconnecting.
  static func retry(milliseconds: Int) -> ByteBuffer {
    ByteBuffer(string: "retry: \(milliseconds)\n\n")
  }

  /// A comment line, which clients ignore: keeps idle streams (a quiet step log) from
  /// being closed by proxies, and finds a browser that went away.
  static let keepalive = ByteBuffer(string: ": keepalive\n\n")
}
