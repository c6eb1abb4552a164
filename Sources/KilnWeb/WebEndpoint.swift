public import Foundation
import AsyncAlgorithms
import GRPCCore
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
public import NIOSSL
import HTTPTypes
import KilnProto
public import Logging
import NIOCore
public import ServiceLifecycle

/// kilnd's HTTP face (`--http-port`): the job monitor page, a JSON endpoint for every
/// gRPC method, and Server-Sent Events for the streaming ones.
///
/// - `POST /api/<package.Service>/<Method>` (e.g. `/api/kiln.v1.JobService/ListJobs`):
///   the request message in proto JSON in, the response in proto JSON out; errors as an
///   HTTP status with ``WebError``'s JSON body.
/// - `GET /api/<package.Service>/<Method>?message=<request in proto JSON>` for
///   `WatchJobs`, `WatchJob` and `FollowStepLog`: an event stream, one event per
///   message, its `id` the revision (for a log, the next offset). A reconnecting
///   browser sends `Last-Event-ID` and the stream resumes after it (`since_revision`,
///   `offset`), so it misses nothing. A call that fails sends `event: kiln-error` with
///   the error JSON, then ends.
/// - `POST /api/session` `{"token": "..."}` logs the page in (``WebSession``);
///   `GET /api/session` says who is logged in; `DELETE /api/session` logs out.
/// - Everything else: the page's files (``PageFiles``).
///
/// Requests authenticate with `Authorization: Bearer <token>` (scripts) or the session
/// cookie (the page). A request with the cookie that changes anything — every `POST`
/// and `DELETE` — must carry the session's CSRF token in `X-Kiln-CSRF`, come from the
/// page's own origin when it says one (`Origin`), and send `Content-Type:
/// application/json`; otherwise it is refused with 403 (415 for the content type).
/// Roles and project visibility are exactly the gRPC ones: every call runs through the
/// same interceptors and handlers, in process (``RPCBridge``).
public struct WebEndpoint: Sendable {
  let bridge: RPCBridge
  let session: WebSession
  let page: PageFiles
  let logger: Logger
  /// The largest request body accepted (gRPC's own request limit).
  let maxBodyBytes: Int
  /// How often a quiet event stream sends a keepalive comment.
  let keepaliveInterval: Duration
  /// How long a connection with no request in progress stays open.
  let idleTimeout: Duration
  /// Admits connections against kilnd's connection limits; `nil` admits all.
  let admission: WebConnectionAdmission?
  /// The TLS settings of the port; `nil` serves plain HTTP/1.1.
  let tls: TLSConfiguration?

  /// Creates the endpoint.
  /// - Parameters:
  ///   - bridge: Calls the in-process gRPC server.
  ///   - csrfSecret: The key of the CSRF tokens (kept in the store, so they outlive a restart).
  ///   - page: The page's files.
  ///   - secureCookies: Mark the session cookie Secure (the page is served over TLS behind a proxy).
  ///   - idleTimeout: How long a connection with no request in progress (an open event
  ///     stream is one) stays open; a client that sends half a request head is closed too.
  ///   - admission: kilnd's connection limits, shared with the gRPC port.
  ///   - tls: Serve HTTPS (HTTP/2, or HTTP/1.1 for clients that do not offer it) with
  ///     these settings, the session cookie marked Secure; `nil` serves plain HTTP/1.1.
  public init(
    bridge: RPCBridge, csrfSecret: Data, page: PageFiles = PageFiles(), secureCookies: Bool = false,
    maxBodyBytes: Int = 4 * 1024 * 1024, keepaliveInterval: Duration = .seconds(15),
    idleTimeout: Duration = .seconds(75), admission: WebConnectionAdmission? = nil, tls: TLSConfiguration? = nil,
    logger: Logger
  ) {
    self.idleTimeout = idleTimeout
    self.admission = admission
    self.tls = tls
    self.bridge = bridge
    self.session = WebSession(secret: csrfSecret, secureCookies: secureCookies || tls != nil)
    self.page = page
    self.maxBodyBytes = maxBodyBytes
    self.keepaliveInterval = keepaliveInterval
    var logger = logger
    logger[metadataKey: "endpoint"] = "web"
    self.logger = logger
  }

  /// The Hummingbird application, as a `Service`; `bound` receives the port it listens
  /// on (useful with port 0).
  public func application(host: String, port: Int, bound: @escaping @Sendable (Int) -> Void) -> some Service {
    let router = Router(context: WebRequestContext.self)
    router.add(middleware: SecurityHeaders())
    let endpoint = self
    router.get("/api/session") { request, context in
      await endpoint.respond { try await endpoint.currentSession(request) }
    }
    router.post("/api/session") { request, context in
      await endpoint.respond { try await endpoint.logIn(request, context: context) }
    }
    router.delete("/api/session") { request, context in
      await endpoint.respond { try await endpoint.logOut(request) }
    }
    for method in bridge.methods.values {
      let path = "/api/\(method.descriptor.fullyQualifiedMethod)"
      if method.isStreaming {
        router.get(RouterPath(path)) { request, context in
          await endpoint.respond { try await endpoint.stream(method, request, context: context) }
        }
      } else {
        router.post(RouterPath(path)) { request, context in
          await endpoint.respond { try await endpoint.unary(method, request, context: context) }
        }
      }
    }
    let noSuchMethod = WebError(code: .unimplemented, message: "no such method; GET /api lists them")
    router.get("/api/**") { _, _ in endpoint.errorResponse(noSuchMethod) }
    router.post("/api/**") { _, _ in endpoint.errorResponse(noSuchMethod) }
    router.get("/api") { _, _ in endpoint.methodList() }
    router.get("/") { request, _ in endpoint.pageFile(request.uri.path) }
    router.get("/**") { request, _ in endpoint.pageFile(request.uri.path) }
    let (logger, admission, idleTimeout) = (self.logger, self.admission, self.idleTimeout)
    let http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(idleTimeout))
    let scheme = tls == nil ? "http" : "https"
    let tls = self.tls
    // Over TLS, HTTP/2 (ALPN "h2", HTTP/1.1 for clients without it): every tab's event
    // streams share one connection, past browsers' six HTTP/1.1 connections per server.
    let server = HTTPServerBuilder { responder in
      let channel: any ServerChildChannel =
        if let tls {
          try HTTP2UpgradeChannel(
            tlsConfiguration: tls, configuration: .init(idleTimeout: idleTimeout, streamConfiguration: http1),
            responder: responder)
        } else {
          HTTP1Channel(responder: responder, configuration: http1)
        }
      return AdmittedChannel(base: channel, admission: admission, logger: logger)
    }
    return Application(
      router: router, server: server,
      configuration: .init(address: .hostname(host, port: port), serverName: "kilnd"),
      onServerRunning: { channel in
        let port = channel.localAddress?.port ?? port
        logger.notice("serving the web monitor on \(scheme)://\(host):\(port)/")
        bound(port)
      },
      logger: logger)
  }

  /// The web port's TLS settings from kilnd's certificate files: the same certificate
  /// as the gRPC port and, with a client CA, the same demand for client certificates.
  public static func tlsConfiguration(certificateChainPath: String, privateKeyPath: String, clientCAPath: String?)
    throws -> TLSConfiguration
  {
    var tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(certificateChainPath).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)))
    if let clientCAPath {
      tls.trustRoots = .file(clientCAPath)
      tls.certificateVerification = .noHostnameVerification
    }
    return tls
  }

  // MARK: - Calls

  func unary(_ method: WebMethod, _ request: Request, context: WebRequestContext) async throws -> Response {
    let credentials = try checkMutation(request)
    var request = request
    let body = try await readBody(&request)
    guard let call = method.unary else { throw WebError(code: .internalError, message: "not a unary method") }
    let json = try await call(bridge, body, metadata(credentials, context))
    return Response(
      status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
  }

  func stream(_ method: WebMethod, _ request: Request, context: WebRequestContext) async throws -> Response {
    guard let openStream = method.openStream else {
      throw WebError(code: .internalError, message: "not a streaming method")
    }
    // Hummingbird has percent-decoded the parameter already.
    let body = Array((request.uri.queryParameters["message"].map { String($0) } ?? "").utf8)
    let lastEventID: Int64?
    if let header = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters["lastEventId"].map(String.init) {
      guard let id = Int64(header.trimmingCharacters(in: .whitespaces)), id >= 0 else {
        throw WebError(code: .invalidArgument, message: "Last-Event-ID must be a revision (a non-negative integer), not '\(header)'")
      }
      lastEventID = id
    } else {
      lastEventID = nil
    }
    // Decoded now, so a malformed request is an HTTP 400 rather than an event.
    let call = try openStream(bridge, body, metadata(WebCredentials(request), context), lastEventID)
    let (keepalive, logger) = (self.keepaliveInterval, self.logger)
    let events = ResponseBody { writer in
      // A channel with back-pressure between the call and the socket: a browser that
      // reads slowly slows the call (whose own buffer is bounded), it does not grow a
      // queue here.
      let frames = AsyncChannel<ByteBuffer>()
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          do {
            try await call { event in
              await frames.send(EventStreamFrame.message(id: event.id, json: event.json))
            }
          } catch {
            let failure = WebError(error)
            if failure.code == .internalError { logger.error("event stream failed: \(String(reflecting: error))") }
            await frames.send(EventStreamFrame.message(id: nil, json: failure.json, event: "kiln-error"))
          }
          frames.finish()
        }
        group.addTask {
          while true {
            try await Task.sleep(for: keepalive)
            await frames.send(EventStreamFrame.keepalive)
          }
        }
        // kilnd shutting down ends the stream (the browser reconnects to the next one).
        group.addTask {
          try await gracefulShutdown()
          frames.finish()
        }
        try await writer.write(EventStreamFrame.retry(milliseconds: 1000))
        for await frame in frames { try await writer.write(frame) }
        group.cancelAll()
      }
      try await writer.finish(nil)
    }
    return Response(
      status: .ok,
      headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
      body: events)
  }

  // MARK: - Session

  func logIn(_ request: Request, context: WebRequestContext) async throws -> Response {
    try checkOrigin(request)
    try checkJSONContentType(request)
    var request = request
    let body = try await readBody(&request)
    struct Login: Decodable { let token: String }
    guard let login = try? JSONDecoder().decode(Login.self, from: Data(body)) else {
      throw WebError(code: .invalidArgument, message: "the body must be {\"token\": \"<bearer token>\"}")
    }
    let token = login.token.trimmingCharacters(in: .whitespacesAndNewlines)
    guard WebSession.isCookieSafe(token) else {
      throw WebError(code: .unauthenticated, message: "token: not a Kiln token")
    }
    var response = try await sessionResponse(token: token, context: context)
    response.setCookie(session.cookie(for: token))
    return response
  }

  func currentSession(_ request: Request) async throws -> Response {
    guard case .cookie(let token) = WebCredentials(request) else {
      throw WebError(code: .unauthenticated, message: "not logged in: POST /api/session with {\"token\": \"...\"}")
    }
    return try await sessionResponse(token: token, context: nil)
  }

  func logOut(_ request: Request) async throws -> Response {
    _ = try checkMutation(request)
    var response = Response(
      status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
    response.setCookie(session.expiredCookie())
    return response
  }

  /// `{"whoAmI": <WhoAmIResponse>, "csrfToken": "..."}` for a token the server accepts.
  private func sessionResponse(token: String, context: WebRequestContext?) async throws -> Response {
    guard let whoAmI = bridge.methods[Kiln_V1_AccessService.Method.WhoAmI.descriptor.fullyQualifiedMethod]?.unary else {
      throw WebError(code: .internalError, message: "WhoAmI is not bridged")
    }
    var metadata: Metadata = ["authorization": "Bearer \(token)"]
    if let context { metadata.addString(context.peer, forKey: WebEndpoint.peerMetadataKey) }
    let identity = try await whoAmI(bridge, [], metadata)
    var body = ByteBuffer(string: "{\"whoAmI\":")
    body.writeBytes(identity)
    body.writeString(",\"csrfToken\":\"\(session.csrfToken(for: token))\"}")
    return Response(
      status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: body))
  }

  // MARK: - Checks

  /// Refuses a cookie-authenticated request without the session's CSRF token, from
  /// another origin, or not JSON; returns the request's credentials.
  func checkMutation(_ request: Request) throws -> WebCredentials {
    let credentials = WebCredentials(request)
    guard case .cookie(let token) = credentials else { return credentials }
    try checkOrigin(request)
    try checkJSONContentType(request)
    guard let candidate = request.headers[WebSession.csrfHeader], session.isValidCSRF(candidate, for: token) else {
      throw WebError(
        code: .permissionDenied,
        message: "missing or wrong \(WebSession.csrfHeader) header: a request made with the session cookie must carry the csrfToken that /api/session returned")
    }
    return credentials
  }

  /// Refuses a request whose `Origin` is not this server's own (`Host`).
  func checkOrigin(_ request: Request) throws {
    guard let origin = request.headers[.origin] else { return }
    let host = request.head.authority ?? ""
    guard origin == "http://\(host)" || origin == "https://\(host)" else {
      throw WebError(code: .permissionDenied, message: "cross-origin request refused: Origin \(origin) is not \(host)")
    }
  }

  func checkJSONContentType(_ request: Request) throws {
    let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
    guard type == nil || type?.lowercased() == "application/json" else {
      throw WebError(
        code: .invalidArgument, message: "Content-Type must be application/json, not \(type ?? "")",
        httpStatus: .unsupportedMediaType)
    }
  }

  func readBody(_ request: inout Request) async throws -> [UInt8] {
    do {
      let buffer = try await request.collectBody(upTo: maxBodyBytes)
      return Array(buffer: buffer)
    } catch let error as HTTPError where error.status == .contentTooLarge {
      throw WebError(
        code: .resourceExhausted, message: "the request body is larger than \(maxBodyBytes) bytes",
        httpStatus: .contentTooLarge)
    }
  }

  /// The metadata of the in-process call: the caller's token and, for the audit trail,
  /// the HTTP client's address.
  func metadata(_ credentials: WebCredentials, _ context: WebRequestContext) -> Metadata {
    var metadata = Metadata()
    if let authorization = credentials.authorization { metadata.addString(authorization, forKey: "authorization") }
    metadata.addString(context.peer, forKey: WebEndpoint.peerMetadataKey)
    return metadata
  }

  /// The metadata key that carries an HTTP client's address to the audit trail (which
  /// believes it only from in-process calls).
  public static let peerMetadataKey = "kiln-web-peer"

  // MARK: - Responses

  /// Runs a handler, answering any error it throws as ``WebError`` JSON.
  func respond(_ body: () async throws -> Response) async -> Response {
    do {
      return try await body()
    } catch {
      let failure = WebError(error)
      if failure.code == .internalError, !(error is RPCError) {
        logger.error("web request failed: \(String(reflecting: error))")
      }
      return errorResponse(failure)
    }
  }

  func errorResponse(_ error: WebError) -> Response {
    Response(
      status: error.httpStatus, headers: [.contentType: "application/json", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.json)))
  }

  func methodList() -> Response {
    let list = bridge.methods.values.sorted { $0.descriptor.fullyQualifiedMethod < $1.descriptor.fullyQualifiedMethod }
      .map { ["method": $0.descriptor.fullyQualifiedMethod, "http": $0.isStreaming ? "GET (text/event-stream)" : "POST"] }
    let data = (try? JSONSerialization.data(withJSONObject: ["methods": list], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return Response(
      status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }

  func pageFile(_ path: String) -> Response {
    guard let file = page.file(at: path) else {
      return Response(
        status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: "not found\n")))
    }
    return Response(
      status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
  }
}

/// Headers every response carries: the page runs only its own scripts and styles, talks
/// only to its own origin and is never framed.
struct SecurityHeaders: RouterMiddleware {
  typealias Context = WebRequestContext

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    var response = try await next(request, context)
    response.headers[.contentSecurityPolicy] =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    response.headers[.xContentTypeOptions] = "nosniff"
    response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
    response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
    return response
  }
}

