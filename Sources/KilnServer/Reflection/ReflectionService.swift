public import GRPCCore
import KilnCore
public import KilnProto
import Foundation
import SwiftProtobuf

/// `grpc.reflection.v1.ServerReflection`: tells tools such as grpcurl, evans and
/// grpcio-reflection which services the server serves and hands them the descriptors
/// to call them with, so they need no proto files.
///
/// Hand-written: grpc-swift-extras, whose `ReflectionService` does this for grpc-swift
/// 2, is not among the packages the build machines have. It answers as grpc-swift-extras
/// and grpc's reference servers do: one response per request, in order, on one stream;
/// a file comes with all its dependencies, transitively; what is not found is an
/// `error_response` (NOT_FOUND, naming it), and the stream goes on. Beyond
/// grpc-swift-extras, it resolves nested messages and enums, fields, oneofs and enum
/// values too, as grpc-go does. ``V1Alpha`` serves the same answers as
/// `grpc.reflection.v1alpha`, which older tools (grpcurl 1.8) ask for.
///
/// Whether a caller needs a token is the ``CallerInterceptor``'s business
/// (``ServerConfiguration/reflectionRequiresAuthentication``).
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
  /// The two reflection services, v1 and v1alpha.
  public static let serviceNames: Set<String> = [
    Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
    Grpc_Reflection_V1alpha_ServerReflection.descriptor.fullyQualifiedService,
  ]

  private let index: FileDescriptorIndex
  private let servedServices: [String]

  /// Creates the service.
  ///
  /// - Parameters:
  ///   - index: The descriptors to serve (``FileDescriptorIndex``).
  ///   - servedServices: The fully-qualified names of the services the server serves,
  ///     the reflection services among them: what `list_services` answers.
  /// - Throws: ``KilnError`` (invalid argument) naming a served service whose
  ///   descriptor is not in `index`: reflection would list what it cannot describe.
  public init(index: FileDescriptorIndex, servedServices: some Sequence<String>) throws {
    let described = Set(index.serviceNames)
    let served = Set(servedServices).sorted()
    let missing = served.filter { !described.contains($0) }
    guard missing.isEmpty else {
      throw KilnError(
        code: .invalidArgument,
        message: "the descriptor set does not describe \(missing.joined(separator: ", ")): regenerate it (dev/generate-protos.sh)")
    }
    self.index = index
    self.servedServices = served
  }

  /// The `grpc.reflection.v1alpha` face of `self`.
  public var v1alpha: V1Alpha { V1Alpha(serving: self) }

  public func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
    context: ServerContext
  ) async throws {
    for try await question in request {
      try await response.write(answer(question))
    }
  }

  /// The response to one request.
  func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
    var response = Grpc_Reflection_V1_ServerReflectionResponse()
    response.validHost = request.host
    response.originalRequest = request
    do throws(RPCError) {
      response.messageResponse = try payload(for: request.messageRequest)
    } catch {
      response.errorResponse = .with {
        $0.errorCode = Int32(error.code.rawValue)
        $0.errorMessage = error.message
      }
    }
    return response
  }

  private func payload(
    for question: Grpc_Reflection_V1_ServerReflectionRequest.OneOf_MessageRequest?
  ) throws(RPCError) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
    switch question {
    case .listServices:
      return .listServicesResponse(.with { list in list.service = servedServices.map { name in .with { $0.name = name } } })
    case .fileByFilename(let name):
      return try files(index.fileWithDependencies(named: name))
    case .fileContainingSymbol(let symbol):
      return try files(index.fileWithDependencies(named: index.fileDeclaring(symbol: symbol)))
    case .fileContainingExtension(let request):
      let file = try index.fileDeclaring(extensionNumber: request.extensionNumber, of: request.containingType)
      return try files(index.fileWithDependencies(named: file))
    case .allExtensionNumbersOfType(let type):
      let numbers = try index.extensionNumbers(of: type)
      return .allExtensionNumbersResponse(.with {
        $0.baseTypeName = type
        $0.extensionNumber = numbers
      })
    case nil:
      // A field of a later version of the protocol arrives as an unknown field.
      throw RPCError(
        code: .unimplemented,
        message:
          "the request asks for nothing this server knows: set one of list_services, file_by_filename, file_containing_symbol, file_containing_extension, all_extension_numbers_of_type"
      )
    }
  }

  private func files(_ serialized: [Data]) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
    .fileDescriptorResponse(.with { $0.fileDescriptorProto = serialized })
  }
}
