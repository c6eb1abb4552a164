public import GRPCCore
public import KilnProto
import SwiftProtobuf

extension ReflectionService {
  /// `grpc.reflection.v1alpha.ServerReflection`, the deprecated first version that
  /// older tools (grpcurl 1.8, grpcio-reflection's descriptor database) still ask for.
  ///
  /// Its messages are v1's field for field, number for number: each request is read
  /// as v1's, answered by the ``ReflectionService`` it serves, and the answer is sent
  /// back as v1alpha's, so the two versions cannot drift apart.
  public struct V1Alpha: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
    private let service: ReflectionService

    /// Serves `service`'s answers as v1alpha.
    public init(serving service: ReflectionService) {
      self.service = service
    }

    public func serverReflectionInfo(
      request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
      response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
      context: ServerContext
    ) async throws {
      for try await question in request {
        let asV1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: question.serializedBytes() as [UInt8])
        let answer = service.answer(asV1)
        try await response.write(
          Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: answer.serializedBytes() as [UInt8]))
      }
    }
  }
}
