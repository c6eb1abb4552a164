public import KilnClient
public import KilnEngine

extension KilnClient {
  /// Creates the subject in the project unless it exists, as this client. A refusal
  /// (not allowed, no such project) is left for the call that needs the subject to report.
  public func ensureSubject(_ name: String, project: String) async {
    do {
      _ = try await createSubject(name, project: project)
    } catch {}
  }

  /// Submits a job, creating its subject first when the project lacks it: tests of other
  /// things than subjects need not set them up.
  public func submit(
    project: String, type: String, subject: String, params: [String: String] = [:]
  ) async throws -> Job {
    await ensureSubject(subject, project: project)
    return try await submitJob(project: project, type: type, subject: subject, params: params)
  }
}

extension ServerHarness {
  /// The engine of the server the current test body runs against (set by the harness
  /// for the body's duration), for helpers that speak the wire only (the generated
  /// clients) but need subjects to exist.
  @TaskLocal public static var currentEngine: JobEngine?

  /// Creates the subject in the project unless it exists (or cannot be made).
  public static func ensureSubject(_ name: String, project: String) async {
    do {
      _ = try await currentEngine?.createSubject(project: project, name: name, caller: .system)
    } catch {}
  }
}
