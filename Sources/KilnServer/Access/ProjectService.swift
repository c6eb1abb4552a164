public import GRPCCore
import KilnCore
public import KilnAccess
public import KilnEngine
public import KilnProto
import KilnWire
import SwiftProtobuf
public import Logging

/// The `kiln.v1.ProjectService` RPCs over the ``AccessManager``.
public struct ProjectService: Kiln_V1_ProjectService.SimpleServiceProtocol {
  private let access: AccessManager
  private let audit: AuditTrail
  private let logger: Logger

  /// Creates the service.
  public init(access: AccessManager, audit: AuditTrail, logger: Logger) {
    self.access = access
    self.audit = audit
    self.logger = logger
  }

  public func createProject(request: Kiln_V1_CreateProjectRequest, context: ServerContext) async throws
    -> Kiln_V1_CreateProjectResponse
  {
    let project = try await access.createProject(
      name: request.name, description: request.description_p, callbackURL: request.callbackURL,
      caller: try RequestContext.caller)
    return .with { $0.project = Kiln_V1_Project(project) }
  }

  public func getProject(request: Kiln_V1_GetProjectRequest, context: ServerContext) async throws
    -> Kiln_V1_GetProjectResponse
  {
    let project = try await access.project(named: request.name, caller: try RequestContext.caller)
    return .with { $0.project = Kiln_V1_Project(project) }
  }

  public func listProjects(request: Kiln_V1_ListProjectsRequest, context: ServerContext) async throws
    -> Kiln_V1_ListProjectsResponse
  {
    let projects = try await access.projects(caller: try RequestContext.caller)
    return .with { $0.projects = projects.map(Kiln_V1_Project.init) }
  }

  public func updateProject(request: Kiln_V1_UpdateProjectRequest, context: ServerContext) async throws
    -> Kiln_V1_UpdateProjectResponse
  {
    let project = try await access.updateProject(
      named: request.name, description: request.hasDescription_p ? request.description_p : nil,
      callbackURL: request.hasCallbackURL ? request.callbackURL : nil, caller: try RequestContext.caller)
    return .with { $0.project = Kiln_V1_Project(project) }
  }

  public func deleteProject(request: Kiln_V1_DeleteProjectRequest, context: ServerContext) async throws
    -> Kiln_V1_DeleteProjectResponse
  {
    let deleted = try await access.deleteProject(named: request.name, caller: try RequestContext.caller)
    return .with { $0.deletedJobs = Int32(deleted) }
  }
}
