public import Foundation

/// What jobs work on (Kylin: a model, a table, a segment): a name in a project, with a
/// schema and a version.
///
/// A job names a subject of its project and records the version it was submitted
/// against. A change of ``schema`` or ``attributes`` adds one to ``version``; that, or
/// deleting the subject, discards every job on it that has not ended.
public struct Subject: Sendable, Hashable, Codable {
  /// The project the subject belongs to.
  public var project: String
  /// The subject's name, unique in its project.
  public var name: String
  /// What kind of thing it is (free text, e.g. `model`); set at creation.
  public var kind: String
  /// The schema, as text Kiln does not interpret.
  public var schema: String
  /// Further description as key/values.
  public var attributes: [String: String]
  /// 1 at creation; each change of ``schema`` or ``attributes`` adds one.
  public var version: Int64
  /// When the subject was created.
  public var createTime: Date
  /// When it last changed (its creation time until then).
  public var updateTime: Date
  /// Who created it.
  public var creator: String

  /// Creates a subject value.
  public init(
    project: String, name: String, kind: String = "", schema: String = "", attributes: [String: String] = [:],
    version: Int64 = 1, createTime: Date, updateTime: Date? = nil, creator: String
  ) {
    self.project = project
    self.name = name
    self.kind = kind
    self.schema = schema
    self.attributes = attributes
    self.version = version
    self.createTime = createTime
    self.updateTime = updateTime ?? createTime
    self.creator = creator
  }

  /// The most bytes a schema may hold.
  public static let maxSchemaBytes = 64 * 1024
  /// The most attributes a subject may hold.
  public static let maxAttributes = 100

  /// Checks what a caller may choose: kind, schema and attributes.
  ///
  /// - Throws: ``KilnError`` (invalid argument) naming the field that is wrong.
  public static func checkContent(kind: String, schema: String, attributes: [String: String], attributesField: String)
    throws(KilnError)
  {
    guard kind.utf8.count <= 64 else { throw .invalidArgument(field: "kind", "is longer than 64 bytes") }
    guard !kind.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
      throw .invalidArgument(field: "kind", "contains control characters")
    }
    guard schema.utf8.count <= maxSchemaBytes else {
      throw .invalidArgument(field: "schema", "is longer than \(maxSchemaBytes) bytes")
    }
    guard attributes.count <= maxAttributes else {
      throw .invalidArgument(field: attributesField, "holds more than \(maxAttributes) attributes")
    }
    for (key, value) in attributes {
      guard !key.isEmpty else { throw .invalidArgument(field: attributesField, "has an empty key") }
      guard key.utf8.count <= 256 else {
        throw .invalidArgument(field: attributesField, "the key \(InputLimits.quoted(key)) is longer than 256 bytes")
      }
      guard value.utf8.count <= 4096 else {
        throw .invalidArgument(field: "\(attributesField).\(key)", "value is longer than 4096 bytes")
      }
    }
  }

  /// Why a job on this subject is discarded when the subject changes to `newVersion`.
  public func changedReason(to newVersion: Int64) -> String {
    "subject \(name) changed from v\(version) to v\(newVersion)"
  }

  /// Why a job on this subject is discarded when the subject is deleted.
  public var deletedReason: String { "subject \(name) deleted" }

  /// Applies an update: a new schema (`nil` keeps it), attributes set and removed.
  ///
  /// - Returns: Whether the schema or the attributes changed; if so, ``version`` went
  ///   up by one and ``updateTime`` is `now`. An update that changes nothing leaves
  ///   the subject exactly as it was.
  @discardableResult
  public mutating func update(schema newSchema: String?, set: [String: String], remove: [String], at now: Date) -> Bool {
    var updated = self
    if let newSchema { updated.schema = newSchema }
    for key in remove { updated.attributes[key] = nil }
    updated.attributes.merge(set) { _, new in new }
    guard updated.schema != schema || updated.attributes != attributes else { return false }
    updated.version += 1
    updated.updateTime = now
    self = updated
    return true
  }
}

/// What a change of a subject did.
public struct SubjectChange: Sendable, Hashable {
  /// The subject after the change; `nil` once deleted.
  public var subject: Subject?
  /// The ids of the jobs the change discarded, oldest first.
  public var discardedJobIDs: [String]

  /// Creates a change.
  public init(subject: Subject?, discardedJobIDs: [String]) {
    self.subject = subject
    self.discardedJobIDs = discardedJobIDs
  }
}

extension KilnError {
  /// No subject of this name exists in the project.
  public static func subjectNotFound(_ name: String, project: String) -> KilnError {
    KilnError(code: .notFound, message: "subject \(name) not found in project \(project)")
  }
}
