#if canImport(Glibc)
  import Glibc
#endif

/// The process's file-descriptor budget, raised as far as the system allows.
///
/// Every connection, step log, step pipe and the database take a descriptor. Linux
/// starts most processes with a soft limit of 1,024 but a hard limit far higher; kilnd
/// raises the soft limit to the hard one at start and keeps part of the budget for
/// itself, so that connections alone can never exhaust it.
public struct DescriptorBudget: Sendable, Equatable {
  /// The soft limit before kilnd raised it.
  public var previous: Int
  /// The soft limit now.
  public var limit: Int

  /// Descriptors kept for the database, step processes and logs, not for connections.
  public static let reserved = 256

  /// Raises the soft `RLIMIT_NOFILE` to the hard limit (capped at 1,048,576).
  public static func raise() -> DescriptorBudget {
    var limits = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return DescriptorBudget(previous: 1024, limit: 1024) }
    let previous = Int(clamping: limits.rlim_cur)
    let target = min(limits.rlim_max, 1 << 20)
    if limits.rlim_cur < target {
      var raised = limits
      raised.rlim_cur = target
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
    }
    return DescriptorBudget(previous: previous, limit: Int(clamping: limits.rlim_cur))
  }

  /// The most connections the budget affords, with ``reserved`` kept aside.
  public var connectionCapacity: Int { max(16, limit - Self.reserved) }
}
