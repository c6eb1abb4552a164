import KilnCore

/// Checks of names that callers send.
enum Validation {
  /// A project name: 1 to 64 letters, digits, `_`, `-` or `.`.
  static func projectName(_ name: String, field: String) throws(KilnError) {
    guard !name.isEmpty else { throw .invalidArgument(field: field, "is empty") }
    guard name.utf8.count <= 64 else { throw .invalidArgument(field: field, "is longer than 64 bytes") }
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
    }
    guard allowed else { throw .invalidArgument(field: field, "\(name) may hold only letters, digits, '_', '-' and '.'") }
  }

  /// A subject name: 1 to 256 bytes with no control characters.
  static func subjectName(_ name: String, field: String) throws(KilnError) {
    guard !name.isEmpty else { throw .invalidArgument(field: field, "is empty") }
    guard name.utf8.count <= 256 else { throw .invalidArgument(field: field, "is longer than 256 bytes") }
    guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
      throw .invalidArgument(field: field, "contains control characters")
    }
  }
}
