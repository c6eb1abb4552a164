public import KilnCore

/// What the server knows about the request being handled, set by ``CallerInterceptor``.
public enum RequestContext {
  /// The caller of the current request.
  @TaskLocal public static var caller: Caller = .anonymous
}
