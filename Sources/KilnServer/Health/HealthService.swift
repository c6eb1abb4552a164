public import GRPCCore
public import KilnProto
import KilnEngine
import SwiftProtobuf
import ServiceLifecycle

/// `grpc.health.v1.Health`, open to every caller (no token): SERVING for the whole
/// server ("") and for each Kiln service while it runs; NOT_SERVING once it shuts down.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  /// The services Kiln reports on, besides "" (the server as a whole).
  public static let services: Set<String> = [
    "kiln.v1.JobService", "kiln.v1.ProjectService", "kiln.v1.AccessService",
    "kiln.v1.SubjectService",
  ]

  private let stopping: Signal

  init(stopping: Signal) {
    self.stopping = stopping
  }

  private func status(of service: String) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus? {
    guard service.isEmpty || Self.services.contains(service) else { return nil }
    return stopping.isFired ? .notServing : .serving
  }

  public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
    -> Grpc_Health_V1_HealthCheckResponse
  {
    guard let status = status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service \(request.service)")
    }
    return .with { $0.status = status }
  }

  public func watch(
    request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    guard let status = status(of: request.service) else {
      try await response.write(.with { $0.status = .serviceUnknown })
      return
    }
    try await response.write(.with { $0.status = status })
    guard status == .serving else { return }
    try await cancellingOnRPCCancellation {
      await stopping.wait()
      try Task.checkCancellation()
      try await response.write(.with { $0.status = .notServing })
    }
  }
}
