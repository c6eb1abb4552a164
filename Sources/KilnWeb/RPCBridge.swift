public import GRPCCore
import GRPCProtobuf
public import GRPCInProcessTransport
import KilnProto
import SwiftProtobuf

/// Calls Kiln's gRPC methods for the HTTP face, with proto JSON in and out.
///
/// The calls go through an in-process gRPC server that has the same services and the
/// same interceptors as the network one (authentication, roles, audit, error mapping,
/// metrics), so the HTTP face cannot drift from the gRPC one: it is a codec in front of
/// it, as grpc-gateway and Connect are for other servers. Every unary method is a
/// `POST`, every server-streaming one an event stream (``WebMethod/isStreaming``).
public struct RPCBridge: Sendable {
  /// The in-process client the bridge calls through.
  let client: GRPCClient<InProcessTransport.Client>
  /// Every bridged method by its path, `kiln.v1.JobService/GetJob`.
  let methods: [String: WebMethod]

  /// Creates the bridge over a client of the in-process server.
  public init(client: GRPCClient<InProcessTransport.Client>) {
    self.client = client
    self.methods = Dictionary(uniqueKeysWithValues: WebMethod.all.map { ($0.descriptor.fullyQualifiedMethod, $0) })
  }

  /// Decodes the options the JSON face accepts: unknown fields are refused, so a
  /// misspelt field is an error naming it rather than a silently empty filter.
  static let decoding = JSONDecodingOptions()
  /// Proto3 JSON as the spec writes it: lowerCamelCase names, 64-bit integers as
  /// strings, enums by name, fields at their default value left out.
  static let encoding: JSONEncodingOptions = {
    var options = JSONEncodingOptions()
    options.useDeterministicOrdering = true
    return options
  }()
}

/// One gRPC method as the HTTP face serves it.
public struct WebMethod: Sendable {
  /// The method's gRPC descriptor.
  public let descriptor: MethodDescriptor
  /// Whether the method streams its responses (served as Server-Sent Events).
  public let isStreaming: Bool
  /// Calls the method with a request in proto JSON; returns the response in proto JSON.
  let unary: (@Sendable (RPCBridge, [UInt8], Metadata) async throws -> [UInt8])?
  /// Decodes a streaming method's request (throwing for a malformed one, before any
  /// event is sent) and returns the call, which passes each message to its argument;
  /// the `Int64` (the `Last-Event-ID`) resumes after that revision or offset.
  let openStream: (@Sendable (RPCBridge, [UInt8], Metadata, Int64?) throws -> StreamCall)?

  /// A streaming call, ready to run: it passes each message to its argument.
  typealias StreamCall = @Sendable (@escaping @Sendable (StreamEvent) async -> Void) async throws -> Void

  /// One message of a streaming response, with the id a client resumes from.
  struct StreamEvent: Sendable {
    /// The event id: a watch's revision, a log's next offset.
    let id: Int64?
    /// The message in proto JSON.
    let json: [UInt8]
  }

  static func unary<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable>(
    _ descriptor: MethodDescriptor, _ input: Input.Type, _ output: Output.Type
  ) -> WebMethod {
    WebMethod(
      descriptor: descriptor, isStreaming: false,
      unary: { bridge, body, metadata in
        let request = try decode(Input.self, from: body)
        let response = try await bridge.client.unary(
          request: ClientRequest(message: request, metadata: metadata), descriptor: descriptor,
          serializer: ProtobufSerializer<Input>(), deserializer: ProtobufDeserializer<Output>(), options: .defaults
        ) { try $0.message }
        let json: [UInt8] = try response.jsonUTF8Bytes(options: RPCBridge.encoding)
        return json
      }, openStream: nil)
  }

  static func streaming<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable>(
    _ descriptor: MethodDescriptor, _ input: Input.Type, _ output: Output.Type,
    resume: @escaping @Sendable (inout Input, Int64) -> Void, eventID: @escaping @Sendable (Output) -> Int64?
  ) -> WebMethod {
    WebMethod(
      descriptor: descriptor, isStreaming: true, unary: nil,
      openStream: { bridge, body, metadata, lastEventID in
        var request = try decode(Input.self, from: body)
        if let lastEventID { resume(&request, lastEventID) }
        return { [request] emit in
          try await bridge.client.serverStreaming(
            request: ClientRequest(message: request, metadata: metadata), descriptor: descriptor,
            serializer: ProtobufSerializer<Input>(), deserializer: ProtobufDeserializer<Output>(), options: .defaults
          ) { response in
            for try await message in response.messages {
              let json: [UInt8] = try message.jsonUTF8Bytes(options: RPCBridge.encoding)
              await emit(StreamEvent(id: eventID(message), json: json))
            }
          }
        }
      })
  }

  /// The request from its JSON body (an empty body is the empty message).
  static func decode<Input: SwiftProtobuf.Message>(_ type: Input.Type, from body: [UInt8]) throws -> Input {
    if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return Input() }
    do {
      return try Input(jsonUTF8Bytes: body, options: RPCBridge.decoding)
    } catch {
      throw RPCError(
        code: .invalidArgument,
        message: "the body is not a \(Input.protoMessageName) in proto JSON: \(JSONProblem.describe(error))")
    }
  }
}

/// Words for SwiftProtobuf's JSON decoding errors.
enum JSONProblem {
  static func describe(_ error: any Error) -> String {
    switch error as? JSONDecodingError {
    case .unknownField(let name): "unknown field '\(name)'"
    case .unrecognizedEnumValue: "an enum value that is not one of the field's names"
    case .malformedNumber, .numberRange: "a number that is malformed or out of range"
    case .malformedString, .invalidUTF8: "a malformed string"
    case .malformedBool: "a malformed boolean"
    case .malformedTimestamp: "a timestamp that is not RFC 3339 (e.g. \"2026-12-02T05:00:00Z\")"
    case .malformedDuration: "a duration that is not seconds with an 's' (e.g. \"1.5s\")"
    case .conflictingOneOf: "two fields of one oneof"
    case .messageDepthLimit: "nesting deeper than 100"
    case .none, .some: "\(error)"
    }
  }
}

extension WebMethod {
  /// Every method of Kiln's services, as the HTTP face serves them. A test checks that
  /// this list and the services' descriptors agree, so a new method cannot be
  /// forgotten here.
  public static let all: [WebMethod] = {
    typealias Jobs = Kiln_V1_JobService.Method
    typealias Projects = Kiln_V1_ProjectService.Method
    typealias Subjects = Kiln_V1_SubjectService.Method
    typealias Access = Kiln_V1_AccessService.Method
    return [
      .unary(Jobs.SubmitJob.descriptor, Jobs.SubmitJob.Input.self, Jobs.SubmitJob.Output.self),
      .unary(Jobs.GetJob.descriptor, Jobs.GetJob.Input.self, Jobs.GetJob.Output.self),
      .unary(Jobs.ListJobs.descriptor, Jobs.ListJobs.Input.self, Jobs.ListJobs.Output.self),
      .unary(Jobs.PauseJob.descriptor, Jobs.PauseJob.Input.self, Jobs.PauseJob.Output.self),
      .unary(Jobs.ResumeJob.descriptor, Jobs.ResumeJob.Input.self, Jobs.ResumeJob.Output.self),
      .unary(Jobs.RestartJob.descriptor, Jobs.RestartJob.Input.self, Jobs.RestartJob.Output.self),
      .unary(Jobs.DiscardJob.descriptor, Jobs.DiscardJob.Input.self, Jobs.DiscardJob.Output.self),
      .unary(Jobs.DeleteJob.descriptor, Jobs.DeleteJob.Input.self, Jobs.DeleteJob.Output.self),
      .unary(Jobs.BatchJobs.descriptor, Jobs.BatchJobs.Input.self, Jobs.BatchJobs.Output.self),
      .unary(Jobs.ListJobTypes.descriptor, Jobs.ListJobTypes.Input.self, Jobs.ListJobTypes.Output.self),
      .unary(Jobs.GetStepLog.descriptor, Jobs.GetStepLog.Input.self, Jobs.GetStepLog.Output.self),
      .streaming(
        Jobs.WatchJobs.descriptor, Jobs.WatchJobs.Input.self, Jobs.WatchJobs.Output.self,
        resume: { $0.sinceRevision = $1 }, eventID: { $0.revision }),
      .streaming(
        Jobs.WatchJob.descriptor, Jobs.WatchJob.Input.self, Jobs.WatchJob.Output.self,
        resume: { $0.sinceRevision = $1 }, eventID: { $0.revision }),
      .streaming(
        Jobs.FollowStepLog.descriptor, Jobs.FollowStepLog.Input.self, Jobs.FollowStepLog.Output.self,
        resume: { $0.offset = $1 }, eventID: { $0.nextOffset }),
      .unary(Projects.CreateProject.descriptor, Projects.CreateProject.Input.self, Projects.CreateProject.Output.self),
      .unary(Projects.GetProject.descriptor, Projects.GetProject.Input.self, Projects.GetProject.Output.self),
      .unary(Projects.ListProjects.descriptor, Projects.ListProjects.Input.self, Projects.ListProjects.Output.self),
      .unary(Projects.UpdateProject.descriptor, Projects.UpdateProject.Input.self, Projects.UpdateProject.Output.self),
      .unary(Projects.DeleteProject.descriptor, Projects.DeleteProject.Input.self, Projects.DeleteProject.Output.self),
      .unary(Subjects.CreateSubject.descriptor, Subjects.CreateSubject.Input.self, Subjects.CreateSubject.Output.self),
      .unary(Subjects.GetSubject.descriptor, Subjects.GetSubject.Input.self, Subjects.GetSubject.Output.self),
      .unary(Subjects.ListSubjects.descriptor, Subjects.ListSubjects.Input.self, Subjects.ListSubjects.Output.self),
      .unary(Subjects.UpdateSubject.descriptor, Subjects.UpdateSubject.Input.self, Subjects.UpdateSubject.Output.self),
      .unary(Subjects.DeleteSubject.descriptor, Subjects.DeleteSubject.Input.self, Subjects.DeleteSubject.Output.self),
      .unary(Access.WhoAmI.descriptor, Access.WhoAmI.Input.self, Access.WhoAmI.Output.self),
      .unary(Access.CreateUser.descriptor, Access.CreateUser.Input.self, Access.CreateUser.Output.self),
      .unary(Access.ListUsers.descriptor, Access.ListUsers.Input.self, Access.ListUsers.Output.self),
      .unary(Access.SetUserDisabled.descriptor, Access.SetUserDisabled.Input.self, Access.SetUserDisabled.Output.self),
      .unary(Access.GrantRole.descriptor, Access.GrantRole.Input.self, Access.GrantRole.Output.self),
      .unary(Access.RevokeRole.descriptor, Access.RevokeRole.Input.self, Access.RevokeRole.Output.self),
      .unary(Access.CreateToken.descriptor, Access.CreateToken.Input.self, Access.CreateToken.Output.self),
      .unary(Access.ListTokens.descriptor, Access.ListTokens.Input.self, Access.ListTokens.Output.self),
      .unary(Access.RevokeToken.descriptor, Access.RevokeToken.Input.self, Access.RevokeToken.Output.self),
      .unary(Access.ListAuditEvents.descriptor, Access.ListAuditEvents.Input.self, Access.ListAuditEvents.Output.self),
    ]
  }()
}
