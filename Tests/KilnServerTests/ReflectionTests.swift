import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import SwiftProtobuf
import Testing

/// The two versions of the reflection protocol kilnd serves.
enum ReflectionVersion: String, CaseIterable, CustomStringConvertible {
  case v1
  case v1alpha

  var description: String { rawValue }
}

private typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
private typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

/// Sends `requests` on one reflection stream of `version`, over HTTP/2 with the
/// generated client of that version, and returns the responses (as v1 messages:
/// the two versions are the same on the wire).
private func reflect(
  _ requests: [Request], version: ReflectionVersion, port: Int, token: String?
) async throws -> [Response] {
  try await withGRPCClient(
    transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
    interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
  ) { client in
    var options = CallOptions.defaults
    options.timeout = .seconds(30)
    switch version {
    case .v1:
      return try await Grpc_Reflection_V1_ServerReflection.Client(wrapping: client).serverReflectionInfo(
        request: StreamingClientRequest { writer in try await writer.write(contentsOf: requests) }, options: options
      ) { response in
        var answers: [Response] = []
        for try await answer in response.messages { answers.append(answer) }
        return answers
      }
    case .v1alpha:
      let alphaRequests = try requests.map {
        try Grpc_Reflection_V1alpha_ServerReflectionRequest(serializedBytes: $0.serializedBytes() as [UInt8])
      }
      return try await Grpc_Reflection_V1alpha_ServerReflection.Client(wrapping: client).serverReflectionInfo(
        request: StreamingClientRequest { writer in try await writer.write(contentsOf: alphaRequests) }, options: options
      ) { response in
        var answers: [Response] = []
        for try await answer in response.messages {
          answers.append(try Response(serializedBytes: answer.serializedBytes() as [UInt8]))
        }
        return answers
      }
    }
  }
}

/// The files of a file-descriptor answer, decoded, or a recorded issue.
private func files(of response: Response, sourceLocation: SourceLocation = #_sourceLocation) throws
  -> [Google_Protobuf_FileDescriptorProto]
{
  guard case .fileDescriptorResponse(let files) = response.messageResponse else {
    Issue.record("expected files, got \(response.messageResponse as Any)", sourceLocation: sourceLocation)
    return []
  }
  return try files.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
}

/// Every file a file depends on is in the answer, and no file twice: the answer is
/// enough to build the descriptors.
private func expectSelfContained(_ files: [Google_Protobuf_FileDescriptorProto], sourceLocation: SourceLocation = #_sourceLocation) {
  let names = files.map(\.name)
  #expect(Set(names).count == names.count, "a file sent twice: \(names)", sourceLocation: sourceLocation)
  for file in files {
    for dependency in file.dependency {
      #expect(names.contains(dependency), "\(file.name) imports \(dependency), not sent", sourceLocation: sourceLocation)
    }
  }
}

private func request(_ set: (inout Request) -> Void) -> Request {
  var request = Request()
  request.host = "127.0.0.1"
  set(&request)
  return request
}

@Suite("Server reflection (grpc.reflection.v1 and v1alpha) over HTTP/2", .timeLimit(.minutes(2)))
struct ReflectionTests {
  static let servedServices = [
    "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    "kiln.v1.AccessService", "kiln.v1.JobService", "kiln.v1.ProjectService", "kiln.v1.SubjectService",
  ]

  @Test("lists every service, resolves methods, types, nested names and files with their dependencies", arguments: ReflectionVersion.allCases)
  func answers(version: ReflectionVersion) async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let questions = [
        request { $0.listServices = "*" },
        request { $0.fileContainingSymbol = "kiln.v1.JobService.ListJobs" },
        request { $0.fileByFilename = "kiln/v1/access.proto" },
        request { $0.fileContainingSymbol = "kiln.v1.NoSuchService" },
        request { $0.fileContainingSymbol = "kiln.v1.Job.ParamsEntry" },
        request { $0.fileContainingSymbol = "grpc.health.v1.HealthCheckResponse.ServingStatus" },
        request { $0.fileContainingSymbol = "kiln.v1.JOB_STATUS_UNSPECIFIED" },
        request { $0.fileContainingSymbol = "kiln.v1.ListJobsRequest" },
        request { $0.fileByFilename = "kiln/v1/nothing.proto" },
        request { $0.fileContainingSymbol = "google.protobuf.Timestamp" },
      ]
      let answers = try await reflect(questions, version: version, port: port, token: try harness.adminToken)
      try #require(answers.count == questions.count, "one answer per request")
      for (question, answer) in zip(questions, answers) {
        #expect(answer.originalRequest == question)
        #expect(answer.validHost == "127.0.0.1")
      }

      guard case .listServicesResponse(let list) = answers[0].messageResponse else {
        Issue.record("list_services: \(answers[0])")
        return
      }
      #expect(list.service.map(\.name) == Self.servedServices)

      let jobs = try files(of: answers[1])
      #expect(jobs.first?.name == "kiln/v1/jobs.proto", "the file asked for comes first")
      #expect(Set(jobs.map(\.name)) == ["kiln/v1/jobs.proto", "google/protobuf/duration.proto", "google/protobuf/timestamp.proto"])
      expectSelfContained(jobs)
      let jobService = jobs.first?.service.first { $0.name == "JobService" }
      #expect(jobService?.method.contains { $0.name == "ListJobs" && $0.inputType == ".kiln.v1.ListJobsRequest" } == true)

      let access = try files(of: answers[2])
      #expect(access.first?.name == "kiln/v1/access.proto")
      #expect(access.first?.service.map(\.name) == ["ProjectService", "AccessService"])
      expectSelfContained(access)

      guard case .errorResponse(let unknownSymbol) = answers[3].messageResponse else {
        Issue.record("an unknown symbol: \(answers[3])")
        return
      }
      #expect(unknownSymbol.errorCode == Int32(RPCError.Code.notFound.rawValue))
      #expect(unknownSymbol.errorMessage.contains("kiln.v1.NoSuchService"))

      #expect(try files(of: answers[4]).first?.name == "kiln/v1/jobs.proto", "a nested message")
      #expect(try files(of: answers[5]).map(\.name) == ["grpc/health/v1/health.proto"], "a nested enum")
      #expect(try files(of: answers[6]).first?.name == "kiln/v1/jobs.proto", "an enum value")
      #expect(try files(of: answers[7]).first?.name == "kiln/v1/jobs.proto", "a message")

      guard case .errorResponse(let unknownFile) = answers[8].messageResponse else {
        Issue.record("an unknown file: \(answers[8])")
        return
      }
      #expect(unknownFile.errorCode == Int32(RPCError.Code.notFound.rawValue))
      #expect(unknownFile.errorMessage.contains("kiln/v1/nothing.proto"))

      #expect(try files(of: answers[9]).map(\.name) == ["google/protobuf/timestamp.proto"], "an imported file's type")
    }
  }

  @Test("extensions: Kiln has none, so a known type has no numbers and every extension is NOT_FOUND", arguments: ReflectionVersion.allCases)
  func extensions(version: ReflectionVersion) async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve { port, _ in
      let questions = [
        request { $0.allExtensionNumbersOfType = "kiln.v1.Job" },
        request { $0.allExtensionNumbersOfType = "kiln.v1.NoSuchType" },
        request {
          $0.fileContainingExtension = .with {
            $0.containingType = "kiln.v1.Job"
            $0.extensionNumber = 100
          }
        },
      ]
      let answers = try await reflect(questions, version: version, port: port, token: try harness.adminToken)
      try #require(answers.count == questions.count)
      guard case .allExtensionNumbersResponse(let numbers) = answers[0].messageResponse else {
        Issue.record("all_extension_numbers_of_type of a known type: \(answers[0])")
        return
      }
      #expect(numbers.baseTypeName == "kiln.v1.Job")
      #expect(numbers.extensionNumber.isEmpty)
      for (answer, named) in [(answers[1], "kiln.v1.NoSuchType"), (answers[2], "kiln.v1.Job")] {
        guard case .errorResponse(let error) = answer.messageResponse else {
          Issue.record("expected NOT_FOUND, got \(answer)")
          continue
        }
        #expect(error.errorCode == Int32(RPCError.Code.notFound.rawValue))
        #expect(error.errorMessage.contains(named))
      }
    }
  }

  @Test("needs a token by default; --open-reflection opens reflection, and only reflection", arguments: ReflectionVersion.allCases)
  func authentication(version: ReflectionVersion) async throws {
    let list = [request { $0.listServices = "" }]
    let closed = ServerHarness()
    defer { closed.cleanUp() }
    try await closed.serve { port, _ in
      await expectRPCError(.unauthenticated, mentioning: "bearer token") {
        _ = try await reflect(list, version: version, port: port, token: nil)
      }
      await expectRPCError(.unauthenticated, mentioning: "bearer token is not valid") {
        _ = try await reflect(list, version: version, port: port, token: "kiln_not-a-token")
      }
      let token = try closed.adminToken
      let answers = try await reflect(list, version: version, port: port, token: token)
      #expect(answers.count == 1)
    }

    let open = ServerHarness()
    defer { open.cleanUp() }
    try await open.serve(configure: { $0.reflectionRequiresAuthentication = false }) { port, _ in
      let answers = try await reflect(list, version: version, port: port, token: nil)
      guard case .listServicesResponse(let services) = answers.first?.messageResponse else {
        Issue.record("list_services without a token on an open server: \(answers)")
        return
      }
      #expect(services.service.map(\.name) == Self.servedServices)
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
      ) { raw in
        _ = await expectRPCError(.unauthenticated, mentioning: "bearer token") {
          _ = try await Kiln_V1_JobService.Client(wrapping: raw).listJobs(.init())
        }
      }
    }
  }
}

@Suite("The descriptor index reflection answers from")
struct FileDescriptorIndexTests {
  @Test("kilnd's built-in descriptor set is the committed Protos/kiln.protoset")
  func builtInSetIsCommitted() throws {
    let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Protos/kiln.protoset")
    #expect(try Data(contentsOf: committed) == KilnDescriptorSet.serialized, "run dev/generate-protos.sh")
  }

  @Test("bytes that are no descriptor set are refused")
  func garbage() {
    let error = #expect(throws: KilnError.self) { _ = try FileDescriptorIndex(serializedSet: Data([0xFF, 0xFF, 0xFF])) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("FileDescriptorSet") == true)
  }

  @Test("a set without the files its files import is refused, naming the missing one")
  func missingImport() throws {
    var set = try Google_Protobuf_FileDescriptorSet(serializedBytes: KilnDescriptorSet.serialized)
    set.file.removeAll { $0.name == "google/protobuf/timestamp.proto" }
    let error = #expect(throws: KilnError.self) { _ = try FileDescriptorIndex(serializedSet: try set.serializedBytes()) }
    #expect(error?.message.contains("google/protobuf/timestamp.proto") == true)
    #expect(error?.message.contains("--include_imports") == true)
  }

  @Test("a symbol declared by two files is refused")
  func duplicateSymbol() throws {
    var set = try Google_Protobuf_FileDescriptorSet(serializedBytes: KilnDescriptorSet.serialized)
    var copy = try #require(set.file.first { $0.name == "grpc/health/v1/health.proto" })
    copy.name = "grpc/health/v1/health-copy.proto"
    set.file.append(copy)
    let error = #expect(throws: KilnError.self) { _ = try FileDescriptorIndex(serializedSet: try set.serializedBytes()) }
    #expect(error?.message.contains("declared twice") == true)
  }

  @Test("a service reflection would list but cannot describe is refused")
  func undescribedService() throws {
    let index = try FileDescriptorIndex(serializedSet: KilnDescriptorSet.serialized)
    let error = #expect(throws: KilnError.self) {
      _ = try ReflectionService(index: index, servedServices: ["kiln.v1.JobService", "kiln.v2.JobService"])
    }
    #expect(error?.message.contains("kiln.v2.JobService") == true)
  }

  @Test("a file comes with its imports' imports")
  func transitiveDependencies() throws {
    // b imports a, c imports b: asking for c brings all three, c first, each once.
    func file(_ name: String, imports: [String], message: String) -> Google_Protobuf_FileDescriptorProto {
      .with {
        $0.name = name
        $0.package = "t"
        $0.dependency = imports
        $0.messageType = [.with { $0.name = message }]
      }
    }
    let set = Google_Protobuf_FileDescriptorSet.with {
      $0.file = [file("a.proto", imports: [], message: "A"), file("b.proto", imports: ["a.proto"], message: "B"),
                 file("c.proto", imports: ["b.proto", "a.proto"], message: "C")]
    }
    let index = try FileDescriptorIndex(serializedSet: try set.serializedBytes())
    let sent = try index.fileWithDependencies(named: "c.proto").map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name }
    #expect(sent == ["c.proto", "b.proto", "a.proto"])
    #expect(try index.fileDeclaring(symbol: "t.B") == "b.proto")
  }
}
