public import KilnCore
public import KilnProto
import SwiftProtobuf

// Subjects between the domain and the wire, both ways: the server sends what the SDK reads.

extension Kiln_V1_Subject {
  /// The wire form of a subject.
  public init(_ subject: Subject) {
    self.init()
    project = subject.project
    name = subject.name
    kind = subject.kind
    schema = subject.schema
    attributes = subject.attributes
    version = subject.version
    createTime = Google_Protobuf_Timestamp(date: subject.createTime)
    updateTime = Google_Protobuf_Timestamp(date: subject.updateTime)
    creator = subject.creator
  }

  /// The domain form.
  public var domain: Subject {
    Subject(
      project: project, name: name, kind: kind, schema: schema, attributes: attributes, version: version,
      createTime: createTime.date, updateTime: updateTime.date, creator: creator)
  }
}
