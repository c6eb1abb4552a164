import GRPCCore
import KilnProto

/// What the audit trail records of one mutating method: the kind of thing it acts on,
/// and where its request names the target and the project.
struct AuditedMethod: Sendable {
  /// What the method acts on: `job`, `jobs`, `project`, `user`, `role`, `token`, `subject`.
  let kind: String
  /// The target and project the request names (`""` where the handler learns them;
  /// it sets them on ``AuditNote/current``).
  let describe: @Sendable (Any) -> (target: String, project: String)

  init<Request>(
    _: Request.Type, kind: String, target: @escaping @Sendable (Request) -> String = { _ in "" },
    project: @escaping @Sendable (Request) -> String = { _ in "" }
  ) {
    self.kind = kind
    self.describe = { message in
      guard let request = message as? Request else { return ("", "") }
      return (target(request), project(request))
    }
  }
}

/// The methods that change something, keyed by their generated descriptors: these are
/// audited, refusals included; reads are not. Adding a mutating RPC means adding its
/// line here, next to its descriptor.
enum AuditedMethods {
  static let all: [MethodDescriptor: AuditedMethod] = [
    Kiln_V1_JobService.Method.SubmitJob.descriptor: AuditedMethod(
      Kiln_V1_SubmitJobRequest.self, kind: "job", project: { $0.project }),
    Kiln_V1_JobService.Method.PauseJob.descriptor: AuditedMethod(Kiln_V1_PauseJobRequest.self, kind: "job", target: { $0.id }),
    Kiln_V1_JobService.Method.ResumeJob.descriptor: AuditedMethod(Kiln_V1_ResumeJobRequest.self, kind: "job", target: { $0.id }),
    Kiln_V1_JobService.Method.RestartJob.descriptor: AuditedMethod(
      Kiln_V1_RestartJobRequest.self, kind: "job", target: { $0.id }),
    Kiln_V1_JobService.Method.DiscardJob.descriptor: AuditedMethod(
      Kiln_V1_DiscardJobRequest.self, kind: "job", target: { $0.id }),
    Kiln_V1_JobService.Method.DeleteJob.descriptor: AuditedMethod(Kiln_V1_DeleteJobRequest.self, kind: "job", target: { $0.id }),
    Kiln_V1_JobService.Method.BatchJobs.descriptor: AuditedMethod(
      Kiln_V1_BatchJobsRequest.self, kind: "jobs", target: batchTarget),
    Kiln_V1_ProjectService.Method.CreateProject.descriptor: AuditedMethod(
      Kiln_V1_CreateProjectRequest.self, kind: "project", target: { $0.name }, project: { $0.name }),
    Kiln_V1_ProjectService.Method.UpdateProject.descriptor: AuditedMethod(
      Kiln_V1_UpdateProjectRequest.self, kind: "project", target: { $0.name }, project: { $0.name }),
    Kiln_V1_ProjectService.Method.DeleteProject.descriptor: AuditedMethod(
      Kiln_V1_DeleteProjectRequest.self, kind: "project", target: { $0.name }, project: { $0.name }),
    Kiln_V1_AccessService.Method.CreateUser.descriptor: AuditedMethod(
      Kiln_V1_CreateUserRequest.self, kind: "user", target: { $0.name }),
    Kiln_V1_AccessService.Method.SetUserDisabled.descriptor: AuditedMethod(
      Kiln_V1_SetUserDisabledRequest.self, kind: "user", target: { $0.name }),
    Kiln_V1_AccessService.Method.GrantRole.descriptor: AuditedMethod(
      Kiln_V1_GrantRoleRequest.self, kind: "role", target: { $0.user }, project: { $0.project }),
    Kiln_V1_AccessService.Method.RevokeRole.descriptor: AuditedMethod(
      Kiln_V1_RevokeRoleRequest.self, kind: "role", target: { $0.user }, project: { $0.project }),
    Kiln_V1_AccessService.Method.CreateToken.descriptor: AuditedMethod(Kiln_V1_CreateTokenRequest.self, kind: "token"),
    Kiln_V1_AccessService.Method.RevokeToken.descriptor: AuditedMethod(
      Kiln_V1_RevokeTokenRequest.self, kind: "token", target: { $0.id }),
    Kiln_V1_SubjectService.Method.CreateSubject.descriptor: AuditedMethod(
      Kiln_V1_CreateSubjectRequest.self, kind: "subject", target: { $0.name }, project: { $0.project }),
    Kiln_V1_SubjectService.Method.UpdateSubject.descriptor: AuditedMethod(
      Kiln_V1_UpdateSubjectRequest.self, kind: "subject", target: { $0.name }, project: { $0.project }),
    Kiln_V1_SubjectService.Method.DeleteSubject.descriptor: AuditedMethod(
      Kiln_V1_DeleteSubjectRequest.self, kind: "subject", target: { $0.name }, project: { $0.project }),
  ]

  /// The full names (`kiln.v1.JobService/PauseJob`) of the audited methods.
  static let fullNames: Set<String> = Set(all.keys.map(\.fullyQualifiedMethod))

  /// A batch by ids names up to 20 of them (and how many there are); one by filter, none.
  @Sendable static func batchTarget(_ request: Kiln_V1_BatchJobsRequest) -> String {
    guard case .ids(let ids) = request.selector else { return "" }
    let shown = ids.ids.prefix(20).joined(separator: ",")
    return ids.ids.count > 20 ? "\(shown),… (\(ids.ids.count) ids)" : shown
  }
}
