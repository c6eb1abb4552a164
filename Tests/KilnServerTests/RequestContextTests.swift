import KilnCore
import KilnServer
import Testing

@Suite("Request identity")
struct RequestContextTests {
  @Test("a call the interceptor did not identify has no caller: an error, never an administrator")
  func failsClosed() async throws {
    let error = #expect(throws: KilnError.self) { _ = try RequestContext.caller }
    #expect(error?.code == .unauthenticated)
    let viewer = Caller(name: "v", isAdmin: false, roles: ["p": .viewer])
    let seen = try RequestContext.$current.withValue(viewer) { try RequestContext.caller }
    #expect(seen == viewer)
  }
}
