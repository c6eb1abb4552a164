import Foundation
public import GRPCCore
public import KilnCore
public import KilnAccess
public import KilnEngine

/// Resolves a request's caller from its metadata.
public protocol CallerResolver: Sendable {
  /// The caller of a request with this metadata.
  /// - Throws: `RPCError` (unauthenticated) when the metadata does not identify anyone.
  func caller(for metadata: Metadata, method: MethodDescriptor) async throws -> Caller
}

/// The resolver of a server without authentication: everyone is ``Caller/anonymous``.
public struct AnonymousCallerResolver: CallerResolver {
  /// Creates the resolver.
  public init() {}

  public func caller(for metadata: Metadata, method: MethodDescriptor) async throws -> Caller { .anonymous }
}

/// Resolves callers from bearer tokens (`authorization: Bearer <token>`), with their
/// roles as of this call, so a revoked token or role takes effect on the next call.
public struct TokenCallerResolver: CallerResolver {
  private let access: AccessManager
  private let allowsAnonymous: Bool

  /// Creates the resolver.
  /// - Parameter allowsAnonymous: A call without a token is ``Caller/anonymous`` (an
  ///   ADMIN) instead of refused: a server with authentication off. A token that is
  ///   sent is still checked.
  public init(access: AccessManager, allowsAnonymous: Bool) {
    self.access = access
    self.allowsAnonymous = allowsAnonymous
  }

  public func caller(for metadata: Metadata, method: MethodDescriptor) async throws -> Caller {
    guard let value = metadata[stringValues: "authorization"].first(where: { _ in true }) else {
      if allowsAnonymous { return .anonymous }
      throw RPCError(
        code: .unauthenticated, message: "no bearer token: send the metadata 'authorization: Bearer <token>'")
    }
    let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else {
      throw RPCError(code: .unauthenticated, message: "the authorization metadata must be 'Bearer <token>'")
    }
    do {
      return try await access.authenticate(secret: String(parts[1]).trimmingCharacters(in: .whitespaces))
    } catch let error as KilnError {
      throw RPCError(code: .unauthenticated, message: error.message)
    }
  }
}
