/// The rules for names that callers choose: projects, users and subjects.
public enum Names {
  /// A project name: 1 to 64 letters, digits, `_`, `-` or `.`.
  public static func checkProject(_ name: String, field: String) throws(KilnError) {
    try check(name, field: field, extra: "_-.", described: "'_', '-' and '.'")
  }

  /// A user name: 1 to 64 letters, digits, `_`, `-`, `.` or `@`.
  public static func checkUser(_ name: String, field: String) throws(KilnError) {
    try check(name, field: field, extra: "_-.@", described: "'_', '-', '.' and '@'")
  }

  /// A subject name: 1 to 256 bytes with no control characters.
  public static func checkSubject(_ name: String, field: String) throws(KilnError) {
    guard !name.isEmpty else { throw .invalidArgument(field: field, "is empty") }
    guard name.utf8.count <= 256 else { throw .invalidArgument(field: field, "is longer than 256 bytes") }
    guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
      throw .invalidArgument(field: field, "contains control characters")
    }
  }

  private static func check(_ name: String, field: String, extra: String, described: String) throws(KilnError) {
    guard !name.isEmpty else { throw .invalidArgument(field: field, "is empty") }
    guard name.utf8.count <= 64 else { throw .invalidArgument(field: field, "is longer than 64 bytes") }
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || extra.unicodeScalars.contains($0)
    }
    guard allowed else { throw .invalidArgument(field: field, "\(name) may hold only letters, digits, \(described)") }
  }
}
