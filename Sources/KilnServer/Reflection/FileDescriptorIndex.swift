public import Foundation
public import GRPCCore
import KilnCore
import SwiftProtobuf

/// The files of a descriptor set, each kept serialized, with the file that declares
/// every symbol: what server reflection answers from.
///
/// A symbol is anything protobuf names: a service, a method (`pkg.Service.Method`), a
/// message, an enum, a field, a oneof, an extension, and whatever a message nests.
/// Enum values are named in the scope around their enum (`pkg.JOB_STATUS_RUNNING`,
/// not `pkg.JobStatus.JOB_STATUS_RUNNING`), as protobuf scopes them.
public struct FileDescriptorIndex: Sendable {
  private struct File: Sendable {
    var serialized: Data
    var dependencies: [String]
  }

  private struct ExtensionKey: Hashable, Sendable {
    var extendee: String
    var number: Int32
  }

  private var files: [String: File] = [:]
  private var fileBySymbol: [String: String] = [:]
  private var messageTypes: Set<String> = []
  private var fileByExtension: [ExtensionKey: String] = [:]

  /// The fully-qualified name of every service the files declare, sorted.
  public private(set) var serviceNames: [String] = []

  /// The names of the files, sorted.
  public var fileNames: [String] { files.keys.sorted() }

  /// Indexes a serialized `google.protobuf.FileDescriptorSet` (`protoc
  /// --include_imports --descriptor_set_out`).
  ///
  /// - Parameter serializedSet: The descriptor set's bytes.
  /// - Throws: ``KilnError`` (invalid argument) when the bytes are not a descriptor set,
  ///   when a file is in it twice or a symbol declared twice, or when a file imports one
  ///   the set lacks (it was made without `--include_imports`).
  public init(serializedSet: Data) throws {
    let set: Google_Protobuf_FileDescriptorSet
    do {
      set = try Google_Protobuf_FileDescriptorSet(serializedBytes: serializedSet)
    } catch {
      throw KilnError(code: .invalidArgument, message: "not a serialized FileDescriptorSet: \(error)")
    }
    for file in set.file {
      guard files[file.name] == nil else {
        throw KilnError(code: .invalidArgument, message: "the descriptor set holds \(file.name) twice")
      }
      files[file.name] = File(serialized: try file.serializedBytes(), dependencies: file.dependency)
      try index(file)
    }
    for (name, file) in files {
      for dependency in file.dependencies where files[dependency] == nil {
        throw KilnError(
          code: .invalidArgument,
          message: "the descriptor set lacks \(dependency), imported by \(name): make it with protoc --include_imports")
      }
    }
    serviceNames.sort()
  }

  /// The file named `name` followed by every file it depends on, transitively, each
  /// once, as serialized `FileDescriptorProto`s: what a client needs to use it.
  ///
  /// - Throws: `RPCError` (not found) naming the file when there is none of that name.
  public func fileWithDependencies(named name: String) throws(RPCError) -> [Data] {
    guard files[name] != nil else { throw RPCError(code: .notFound, message: "file not found: \(name)") }
    var result: [Data] = []
    var queue = [name]
    var seen: Set<String> = [name]
    while !queue.isEmpty {
      // Present: every dependency was checked at init.
      let file = files[queue.removeFirst()]!
      result.append(file.serialized)
      for dependency in file.dependencies where seen.insert(dependency).inserted {
        queue.append(dependency)
      }
    }
    return result
  }

  /// The name of the file that declares `symbol` (fully qualified, without a leading dot).
  ///
  /// - Throws: `RPCError` (not found) naming the symbol when no file declares it.
  public func fileDeclaring(symbol: String) throws(RPCError) -> String {
    guard let file = fileBySymbol[symbol] else { throw RPCError(code: .notFound, message: "symbol not found: \(symbol)") }
    return file
  }

  /// The name of the file that declares extension `number` of the message type `extendee`.
  ///
  /// - Throws: `RPCError` (not found) when `extendee` is no message type of the files,
  ///   or it has no extension numbered `number`.
  public func fileDeclaring(extensionNumber number: Int32, of extendee: String) throws(RPCError) -> String {
    guard messageTypes.contains(extendee) else {
      throw RPCError(code: .notFound, message: "message type not found: \(extendee)")
    }
    guard let file = fileByExtension[ExtensionKey(extendee: extendee, number: number)] else {
      throw RPCError(code: .notFound, message: "extension not found: \(extendee) has no extension \(number)")
    }
    return file
  }

  /// The field numbers of every extension of the message type `extendee`, ascending;
  /// empty when it has none.
  ///
  /// - Throws: `RPCError` (not found) when `extendee` is no message type of the files.
  public func extensionNumbers(of extendee: String) throws(RPCError) -> [Int32] {
    guard messageTypes.contains(extendee) else {
      throw RPCError(code: .notFound, message: "message type not found: \(extendee)")
    }
    return fileByExtension.keys.filter { $0.extendee == extendee }.map(\.number).sorted()
  }

  private mutating func index(_ file: Google_Protobuf_FileDescriptorProto) throws {
    let scope = file.package
    for message in file.messageType { try index(message, in: scope, file: file.name) }
    for enumType in file.enumType { try index(enumType, in: scope, file: file.name) }
    for field in file.extension { try index(extension: field, in: scope, file: file.name) }
    for service in file.service {
      let serviceName = Self.qualified(service.name, in: scope)
      try declare(serviceName, in: file.name)
      serviceNames.append(serviceName)
      for method in service.method { try declare(Self.qualified(method.name, in: serviceName), in: file.name) }
    }
  }

  private mutating func index(_ message: Google_Protobuf_DescriptorProto, in scope: String, file: String) throws {
    let name = Self.qualified(message.name, in: scope)
    try declare(name, in: file)
    messageTypes.insert(name)
    for field in message.field { try declare(Self.qualified(field.name, in: name), in: file) }
    for oneof in message.oneofDecl { try declare(Self.qualified(oneof.name, in: name), in: file) }
    for nested in message.nestedType { try index(nested, in: name, file: file) }
    for enumType in message.enumType { try index(enumType, in: name, file: file) }
    for field in message.extension { try index(extension: field, in: name, file: file) }
  }

  private mutating func index(_ enumType: Google_Protobuf_EnumDescriptorProto, in scope: String, file: String) throws {
    try declare(Self.qualified(enumType.name, in: scope), in: file)
    for value in enumType.value { try declare(Self.qualified(value.name, in: scope), in: file) }
  }

  private mutating func index(extension field: Google_Protobuf_FieldDescriptorProto, in scope: String, file: String)
    throws
  {
    try declare(Self.qualified(field.name, in: scope), in: file)
    // protoc writes the extendee fully qualified, with a leading dot.
    let extendee = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
    fileByExtension[ExtensionKey(extendee: extendee, number: field.number)] = file
  }

  private mutating func declare(_ symbol: String, in file: String) throws {
    if let other = fileBySymbol[symbol] {
      throw KilnError(code: .invalidArgument, message: "\(symbol) is declared twice in the descriptor set (\(other), \(file))")
    }
    fileBySymbol[symbol] = file
  }

  private static func qualified(_ name: String, in scope: String) -> String {
    scope.isEmpty ? name : "\(scope).\(name)"
  }
}
