public import KilnCore

/// What the server knows about the request being handled, set by ``CallerInterceptor``.
public enum RequestContext {
  /// The caller of the current request, once ``CallerInterceptor`` has identified it.
  @TaskLocal public static var current: Caller?

  /// The caller of the current request.
  ///
  /// Identity fails closed: a handler reached without the interceptor having set a
  /// caller (a service registered without it, a task that lost its task-local values)
  /// is refused, never treated as an administrator.
  /// - Throws: ``KilnError`` UNAUTHENTICATED when no caller was identified.
  public static var caller: Caller {
    get throws(KilnError) {
      guard let current else {
        throw KilnError(code: .unauthenticated, message: "the call was not identified: no caller is known for it")
      }
      return current
    }
  }
}
