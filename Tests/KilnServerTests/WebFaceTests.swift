import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import GRPCCore
import KilnClient
import KilnCore
import KilnProto
import KilnServer
import KilnTestSupport
import KilnWeb
import NIOCore
import NIOHTTP1
import Testing

/// What an HTTP call of the web face answered.
struct WebAnswer: Sendable {
  var status: Int
  var headers: HTTPHeaders
  var text: String

  /// The body as a JSON object (empty when it is not one).
  var json: [String: any Sendable] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: any Sendable] ?? [:]
  }
  /// The gRPC code of an error body (0 for success).
  var code: Int { json["code"] as? Int ?? 0 }
}

/// A script's view of `kilnd --http-port`: plain HTTP/1.1 calls on 127.0.0.1.
struct WebFace: Sendable {
  let port: Int

  /// `POST /api/<rpc>` with a proto JSON body, as `token` (a bearer token) or with `cookie`.
  func call(
    _ rpc: String, _ body: String = "{}", token: String? = nil, path: String? = nil, method: HTTPMethod = .POST,
    headers: [(String, String)] = []
  ) async throws -> WebAnswer {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path ?? "/api/\(rpc)")")
    request.method = method
    request.headers.add(name: "Content-Type", value: "application/json")
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
    if method == .POST || method == .DELETE { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
    return WebAnswer(status: Int(response.status.code), headers: response.headers, text: String(buffer: bytes))
  }

  /// Reads an event stream (`GET /api/<rpc>?message=`) until `until` says stop, and
  /// returns the events read: `(event, id, data)`.
  func events(
    _ rpc: String, _ message: String = "{}", token: String, lastEventID: Int64? = nil,
    until: @escaping @Sendable ([(event: String, id: Int64?, data: String)]) -> Bool
  ) async throws -> [(event: String, id: Int64?, data: String)] {
    let query = message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/\(rpc)?message=\(query)")
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
    var events: [(event: String, id: Int64?, data: String)] = []
    var pending = ""
    var current: (event: String, id: Int64?, data: String) = ("message", nil, "")
    for try await buffer in response.body {
      pending += String(buffer: buffer)
      while let newline = pending.firstIndex(of: "\n") {
        let line = String(pending[..<newline])
        pending = String(pending[pending.index(after: newline)...])
        if line.isEmpty {
          if !current.data.isEmpty { events.append(current) }
          current = ("message", nil, "")
          if until(events) { return events }
        } else if line.hasPrefix("event: ") {
          current.event = String(line.dropFirst(7))
        } else if line.hasPrefix("id: ") {
          current.id = Int64(line.dropFirst(4))
        } else if line.hasPrefix("data: ") {
          current.data += String(line.dropFirst(6))
        }
      }
    }
    return events
  }
}

extension WebFace {
  /// Starts a server with its HTTP face and runs `body` with an ADMIN's SDK client and the face.
  static func with(_ body: (KilnClient, WebFace, ServerHarness) async throws -> Void) async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: { $0.httpPort = 0 }) { port, app in
      let web = WebFace(port: try #require(await app.httpPort))
      try await withKilnClient(try harness.adminConfiguration(port: port)) { kiln in try await body(kiln, web, harness) }
    }
  }
}

extension WebAnswer {
  /// A field of a nested object: `answer.value("job", "status")`.
  func value(_ path: String...) -> Any? {
    var node: Any? = json
    for key in path { node = (node as? [String: Any])?[key] }
    return node
  }
}

@Suite("The HTTP face: JSON for every call, event streams, the page's session", .timeLimit(.minutes(3)))
struct WebFaceTests {
  @Test("every method of Kiln's services is served, unary ones as POST and streaming ones as event streams")
  func everyMethodIsBridged() {
    let served = Set(WebMethod.all.map(\.descriptor.fullyQualifiedMethod))
    let declared = Set(
      (Kiln_V1_JobService.Method.descriptors + Kiln_V1_ProjectService.Method.descriptors
        + Kiln_V1_SubjectService.Method.descriptors + Kiln_V1_AccessService.Method.descriptors).map(\.fullyQualifiedMethod))
    #expect(served == declared)
    #expect(
      Set(WebMethod.all.filter(\.isStreaming).map(\.descriptor.method)) == ["WatchJobs", "WatchJob", "FollowStepLog"])
  }

  @Test("the page built into kilnd is the page in Sources/KilnWeb/Page (run dev/generate-web-page.sh after changing it)")
  func builtInPageIsCurrent() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/KilnWeb/Page")
    let onDisk = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { name in
      var isDirectory: ObjCBool = false
      FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path, isDirectory: &isDirectory)
      return !isDirectory.boolValue && !name.split(separator: "/").contains { $0.hasPrefix(".") }
    }
    #expect(PageFiles.builtInNames == onDisk.sorted())
    let builtIn = PageFiles()
    let fromDisk = PageFiles(directory: directory)
    for name in onDisk {
      #expect(builtIn.file(at: "/\(name)")?.bytes == fromDisk.file(at: "/\(name)")?.bytes, "\(name) differs")
    }
    #expect(builtIn.file(at: "/")?.contentType == "text/html; charset=utf-8")
    #expect(fromDisk.file(at: "/../Package.swift") == nil)
    #expect(fromDisk.file(at: "/.hidden") == nil)
  }

  @Test("calls in proto JSON; errors as HTTP statuses with the gRPC code, its name, the message and kiln-* details")
  func jsonCallsAndErrors() async throws {
    try await WebFace.with { kiln, web, harness in
      let token = try harness.adminToken
      _ = try await kiln.createSubject("s1", project: "p1")

      let submitted = try await web.call(
        "kiln.v1.JobService/SubmitJob", #"{"project":"p1","jobType":"INDEX_BUILD","subject":"s1","params":{"sleep_ms":"600000"}}"#,
        token: token)
      #expect(submitted.status == 200, "\(submitted.text)")
      #expect(submitted.headers.first(name: "Content-Type") == "application/json")
      let id = try #require(submitted.value("job", "id") as? String)
      #expect(try await kiln.job(id).project == "p1", "the job the HTTP face submitted is the gRPC face's")

      let listed = try await web.call("kiln.v1.JobService/ListJobs", #"{"filter":{"projects":["p1"]}}"#, token: token)
      #expect((listed.value("jobs") as? [Any])?.count == 1)
      #expect(listed.value("totalSize") as? String == "1", "int64 is a JSON string in proto JSON")
      let revision = Int64(try #require(listed.value("revision") as? String)) ?? 0
      #expect(revision >= (Int64(submitted.value("job", "revision") as? String ?? "") ?? .max))

      let missing = try await web.call("kiln.v1.JobService/GetJob", #"{"id":"no-such-job"}"#, token: token)
      #expect(missing.status == 404)
      #expect(missing.code == 5 && missing.json["status"] as? String == "NOT_FOUND")
      #expect((missing.json["message"] as? String)?.contains("no-such-job") == true)

      _ = try await kiln.discard(id)
      let refused = try await web.call("kiln.v1.JobService/PauseJob", #"{"id":"\#(id)"}"#, token: token)
      #expect(refused.status == 400 && refused.json["status"] as? String == "FAILED_PRECONDITION", "\(refused.text)")
      #expect((refused.json["message"] as? String)?.contains("DISCARDED") == true, "\(refused.text)")
      #expect(try await kiln.job(id).status == .discarded, "a refused call changes nothing")

      let invalid = try await web.call("kiln.v1.JobService/ListJobs", #"{"pageSize":-1}"#, token: token)
      #expect(invalid.status == 400 && invalid.json["status"] as? String == "INVALID_ARGUMENT")
      #expect((invalid.json["details"] as? [String: String])?["kiln-field"] == "page_size", "\(invalid.text)")

      let misspelt = try await web.call("kiln.v1.JobService/ListJobs", #"{"pageSiz":1}"#, token: token)
      #expect(misspelt.status == 400 && (misspelt.json["message"] as? String)?.contains("pageSiz") == true, "\(misspelt.text)")
      let malformed = try await web.call("kiln.v1.JobService/ListJobs", #"{"pageSize":"#, token: token)
      #expect(malformed.status == 400 && (malformed.json["message"] as? String)?.contains("ListJobsRequest") == true)

      let noToken = try await web.call("kiln.v1.JobService/ListJobs")
      #expect(noToken.status == 401 && noToken.json["status"] as? String == "UNAUTHENTICATED")
      let unknown = try await web.call("kiln.v1.JobService/NoSuchMethod", token: token)
      #expect(unknown.status == 501 && unknown.json["status"] as? String == "UNIMPLEMENTED", "\(unknown.text)")
      let list = try await web.call("", path: "/api", method: .GET)
      #expect((list.value("methods") as? [Any])?.count == WebMethod.all.count)

      // The audit trail says the call came through the HTTP face, and from where.
      let audit = try await kiln.auditEvents()
      let submit = try #require(audit.events.first { $0.method == "kiln.v1.JobService/SubmitJob" })
      #expect(submit.peer.hasPrefix("web:ipv4:127.0.0.1:"), "\(submit.peer)")
    }
  }

  @Test("the same access matrix as over gRPC: every caller gets the same status from every call")
  func accessMatrixOverHTTP() async throws {
    try await AccessWorld.with { world in
      let web = WebFace(port: try #require(await world.httpPort))
      for probe in probes where !probe.rpc.hasPrefix("grpc.") {
        let request = try #require(webRequests[probe.rpc], "no HTTP request for \(probe.rpc)")
        for who in Who.allCases {
          let (rpc, body) = try await request(world, who)
          let answer: WebAnswer
          if WebMethod.all.first(where: { $0.descriptor.fullyQualifiedMethod == rpc })?.isStreaming == true {
            let events = try await web.events(rpc, body, token: world.tokens[who].flatMap { $0 } ?? "") { !$0.isEmpty }
            let error = events.first { $0.event == "kiln-error" }
            answer = WebAnswer(status: 200, headers: [:], text: error?.data ?? "{}")
          } else {
            answer = try await web.call(rpc, body, token: world.tokens[who].flatMap { $0 })
          }
          var code = answer.code
          // A batch answers OK and reports each job's refusal, as over gRPC.
          if rpc.hasSuffix("BatchJobs"), let item = (answer.value("results") as? [[String: Any]])?.first,
            let itemCode = (item["error"] as? [String: Any])?["code"] as? Int
          {
            code = itemCode
          }
          let expected = probe.expected(who).map(\.grpcStatus) ?? 0
          #expect(code == expected, "\(probe.rpc) as \(who) over HTTP: expected \(expected), got \(answer.text)")
        }
      }
    }
  }

  @Test("the page's session: a cookie for a token, a CSRF token for every change, other origins refused")
  func sessionAndCSRF() async throws {
    try await WebFace.with { kiln, web, harness in
      let viewer = try await kiln.createUser("watcher")
      try await kiln.grantRole(.viewer, to: viewer.name, in: "p1")
      let token = try await kiln.createToken(for: "watcher", description: "page").secret

      let bad = try await web.call("", #"{"token":"kiln_wrong"}"#, path: "/api/session")
      #expect(bad.status == 401 && bad.headers.first(name: "Set-Cookie") == nil)
      let login = try await web.call("", #"{"token":"\#(token)"}"#, path: "/api/session")
      #expect(login.status == 200, "\(login.text)")
      let setCookie = try #require(login.headers.first(name: "Set-Cookie"))
      #expect(setCookie.hasPrefix("kiln_session=\(token);"))
      #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
      #expect(login.value("whoAmI", "user", "name") as? String == "watcher")
      let csrf = try #require(login.json["csrfToken"] as? String)
      let cookie = ("Cookie", "kiln_session=\(token)")

      let current = try await web.call("", path: "/api/session", method: .GET, headers: [cookie])
      #expect(current.status == 200 && current.json["csrfToken"] as? String == csrf)
      let nobody = try await web.call("", path: "/api/session", method: .GET)
      #expect(nobody.status == 401)

      let forged = try await web.call("kiln.v1.JobService/ListJobs", headers: [cookie])
      #expect(forged.status == 403 && (forged.json["message"] as? String)?.contains("X-Kiln-CSRF") == true)
      let wrong = try await web.call("kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf + "x")])
      #expect(wrong.status == 403)
      let listed = try await web.call("kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf)])
      #expect(listed.status == 200, "\(listed.text)")
      let otherSite = try await web.call(
        "kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf), ("Origin", "http://attacker.example")])
      #expect(otherSite.status == 403 && (otherSite.json["message"] as? String)?.contains("cross-origin") == true)
      let sameSite = try await web.call(
        "kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf), ("Origin", "http://127.0.0.1:\(web.port)")])
      #expect(sameSite.status == 200)
      let form = try await web.call(
        "kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf), ("Content-Type", "text/plain")])
      #expect(form.status == 415)

      // The session has its token's role: a VIEWER's change is refused by the server.
      _ = try await kiln.createSubject("s1", project: "p1")
      let submit = try await web.call(
        "kiln.v1.JobService/SubmitJob", #"{"project":"p1","jobType":"INDEX_BUILD","subject":"s1"}"#,
        headers: [cookie, ("X-Kiln-CSRF", csrf)])
      #expect(submit.status == 403 && submit.json["status"] as? String == "PERMISSION_DENIED")

      // Revoking the token ends the session.
      let tokenID = try #require(login.value("whoAmI", "tokenId") as? String)
      _ = try await kiln.revokeToken(tokenID)
      let revoked = try await web.call("kiln.v1.JobService/ListJobs", headers: [cookie, ("X-Kiln-CSRF", csrf)])
      #expect(revoked.status == 401)

      let logout = try await web.call("", path: "/api/session", method: .DELETE, headers: [cookie, ("X-Kiln-CSRF", csrf)])
      #expect(logout.status == 200)
      #expect(logout.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)

      let page = try await web.call("", path: "/", method: .GET)
      #expect(page.status == 200 && page.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
      #expect(page.headers.first(name: "Content-Security-Policy")?.contains("default-src 'self'") == true)
      #expect(page.headers.first(name: "X-Frame-Options") == "DENY")
    }
  }

  @Test("list, then watch from the list's revision: no change is missed, and Last-Event-ID resumes a stream")
  func listThenWatchAndResume() async throws {
    try await WebFace.with { kiln, web, harness in
      let token = try harness.adminToken
      _ = try await kiln.createSubject("s1", project: "p1")
      let first = try await kiln.submit(project: "p1", type: "INDEX_BUILD", subject: "s1", params: ["sleep_ms": "600000"])
      let page = try await kiln.listJobs(filter: JobFilter(projects: ["p1"]))
      #expect(page.jobs.map(\.id) == [first.id])
      // A change after the list, before the watch starts.
      let second = try await kiln.submit(project: "p1", type: "INDEX_BUILD", subject: "s1", params: ["sleep_ms": "600000"])
      let request = #"{"filter":{"projects":["p1"]},"sinceRevision":"\#(page.revision)"}"#
      let events = try await web.events("kiln.v1.JobService/WatchJobs", request, token: token) { events in
        events.contains { $0.data.contains(second.id) && $0.data.contains("CREATED") }
      }
      #expect(events.allSatisfy { ($0.id ?? 0) > page.revision }, "the watch starts after the list's revision")
      #expect(!events.contains { $0.data.contains("SNAPSHOT") }, "no snapshot: the list was it")
      let created = try #require(events.first { $0.data.contains(second.id) && $0.data.contains("CREATED") })

      // Resume after the creation: the next change, a pause, is the first event.
      _ = try await kiln.pause(second.id)
      let resumed = try await web.events(
        "kiln.v1.JobService/WatchJobs", #"{"filter":{"projects":["p1"]}}"#, token: token, lastEventID: created.id
      ) { events in events.contains { $0.data.contains("JOB_STATUS_PAUSED") } }
      #expect(!resumed.contains { $0.data.contains("SNAPSHOT") }, "Last-Event-ID replaces the snapshot")
      #expect(resumed.allSatisfy { ($0.id ?? 0) > (created.id ?? 0) })

      // The query parameter is percent-decoded once: a '%22' inside the JSON stays the JSON's.
      let literal = try await web.events(
        "kiln.v1.JobService/WatchJobs", #"{"filter":{"key":"%22"}}"#, token: token) { !$0.isEmpty }
      #expect(literal.first?.event == "message", "\(literal)")

      // Errors of a stream are an event of their own, with the error JSON.
      let future = try await web.events("kiln.v1.JobService/WatchJobs", #"{"sinceRevision":"999999"}"#, token: token) {
        !$0.isEmpty
      }
      #expect(future.first?.event == "kiln-error" && future.first?.data.contains("INVALID_ARGUMENT") == true)
      let malformed = try await web.call(
        "", path: "/api/kiln.v1.JobService/WatchJobs?message=%7Bbad", method: .GET, headers: [("Authorization", "Bearer \(token)")])
      #expect(malformed.status == 400)
    }
  }
}

extension WebFaceTests {
  @Test("the HTTP port counts against kilnd's connection limits, shared with the gRPC port")
  func connectionLimitsCoverTheHTTPPort() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.serve(configure: {
      $0.httpPort = 0
      $0.connectionLimits.maxConnectionsPerAddress = 3
    }) { port, app in
      let httpPort = try #require(await app.httpPort)
      try await withKilnClient(try harness.adminConfiguration(port: port)) { kiln in
        _ = try await kiln.whoAmI()  // the SDK's gRPC connection: one of the three
        let first = try RawSocket(port: httpPort)
        let second = try RawSocket(port: httpPort)
        #expect(try first.answers(), "the second connection of the address")
        #expect(try second.answers(), "the third")
        let refused = try RawSocket(port: httpPort)
        #expect(try refused.closedByServer(), "the fourth is closed at once")
        first.close()
        try await Task.sleep(for: .milliseconds(200))
        let again = try RawSocket(port: httpPort)
        #expect(try again.answers(), "a freed place is taken again")
        second.close()
        refused.close()
        again.close()
      }
    }
  }
}

extension WebFaceTests {
  @Test("hostile bodies for every method: always a JSON error (4xx) or an answer, never a 5xx, and the server stays up")
  func hostileBodies() async throws {
    try await WebFace.with { kiln, web, harness in
      let token = try harness.adminToken
      var generator = SeededBytes(seed: 0x6b69_6c6e)
      let shapes: [String] = [
        "", "null", "[]", "\"text\"", "{", "}", "{\"id\":", "{\"id\":1}", "{\"id\":null}", "{\"id\":[\"a\"]}",
        "{\"pageSize\":1e999}", "{\"pageSize\":\"-9223372036854775809\"}", "{\"filter\":{\"statuses\":[\"NOPE\"]}}",
        "{\"filter\":{\"createTimeFrom\":\"yesterday\"}}", "{\"ids\":{\"ids\":[\"\\u0000\"]}}",
        String(repeating: "[", count: 5_000), "{\"id\":\"" + String(repeating: "x", count: 100_000) + "\"}",
        "{\"id\":\"\\ud800\"}", "{\"params\":{\"a\":1}}", "{\"name\":\"../../etc/passwd\"}",
      ]
      for method in WebMethod.all where !method.isStreaming {
        let rpc = method.descriptor.fullyQualifiedMethod
        var bodies = shapes
        for _ in 0..<5 { bodies.append(String(decoding: generator.bytes(count: Int(generator.next() % 64)), as: UTF8.self)) }
        for body in bodies {
          let answer = try await web.call(rpc, body, token: token)
          #expect(answer.status < 500, "\(rpc) with \(body.prefix(60)): \(answer.status) \(answer.text.prefix(200))")
          if answer.status >= 400 {
            #expect(answer.json["status"] is String, "\(rpc): an error body is JSON: \(answer.text.prefix(200))")
          }
        }
      }
      #expect(try await kiln.whoAmI().user.name == "admin", "the server is still up")
    }
  }
}

/// A deterministic byte generator (xorshift64*), so a failure reproduces.
struct SeededBytes {
  var state: UInt64
  init(seed: UInt64) { state = seed | 1 }
  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 2_685_821_657_736_338_717
  }
  mutating func bytes(count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// A plain TCP connection to 127.0.0.1 for the connection-limit test.
final class RawSocket {
  let fd: Int32

  init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw KilnError(code: .unavailable, message: "connect: errno \(errno)") }
  }

  /// Sends a request for the page and reads the first bytes of an answer.
  func answers() throws -> Bool {
    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    return read(timeoutMilliseconds: 10_000).hasPrefix("HTTP/1.1 200")
  }

  /// Whether the server closes the connection without answering.
  func closedByServer() throws -> Bool {
    read(timeoutMilliseconds: 10_000).isEmpty
  }

  private func read(timeoutMilliseconds: Int32) -> String {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return "(no answer)" }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = recv(fd, &buffer, buffer.count, 0)
    return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
  }

  func close() { _ = Glibc.close(fd) }
}

extension AccessWorld {
  /// The port of the world's web face.
  var httpPort: Int? { get async { await app.httpPort } }
}

/// The HTTP request of each probe of the access matrix (`AccessMatrixTests`): the same
/// preparation, the same call, in proto JSON.
let webRequests: [String: @Sendable (AccessWorld, Who) async throws -> (String, String)] = [
  "JobService/SubmitJob": { _, _ in
    ("kiln.v1.JobService/SubmitJob", #"{"project":"alpha","jobType":"INDEX_BUILD","subject":"s","params":{"sleep_ms":"600000"}}"#)
  },
  "JobService/GetJob": { world, _ in ("kiln.v1.JobService/GetJob", #"{"id":"\#(try await world.job().id)"}"#) },
  "JobService/ListJobs": { _, _ in ("kiln.v1.JobService/ListJobs", "{}") },
  "JobService/PauseJob": { world, _ in ("kiln.v1.JobService/PauseJob", #"{"id":"\#(try await world.job().id)"}"#) },
  "JobService/ResumeJob": { world, _ in
    ("kiln.v1.JobService/ResumeJob", #"{"id":"\#(try await world.job(paused: true).id)"}"#)
  },
  "JobService/RestartJob": { world, _ in
    ("kiln.v1.JobService/RestartJob", #"{"id":"\#(try await world.job(paused: true).id)"}"#)
  },
  "JobService/DiscardJob": { world, _ in ("kiln.v1.JobService/DiscardJob", #"{"id":"\#(try await world.job().id)"}"#) },
  "JobService/DeleteJob": { world, _ in
    ("kiln.v1.JobService/DeleteJob", #"{"id":"\#(try await world.job(discarded: true).id)"}"#)
  },
  "JobService/BatchJobs": { world, _ in
    ("kiln.v1.JobService/BatchJobs", #"{"action":"JOB_ACTION_PAUSE","ids":{"ids":["\#(try await world.job().id)"]}}"#)
  },
  "JobService/ListJobTypes": { _, _ in ("kiln.v1.JobService/ListJobTypes", "{}") },
  "JobService/GetStepLog": { world, _ in
    ("kiln.v1.JobService/GetStepLog", #"{"jobId":"\#(try await world.job().id)","stepId":"0"}"#)
  },
  "JobService/WatchJobs": { _, _ in ("kiln.v1.JobService/WatchJobs", "{}") },
  "JobService/WatchJob": { world, _ in ("kiln.v1.JobService/WatchJob", #"{"id":"\#(try await world.job().id)"}"#) },
  "JobService/FollowStepLog": { world, _ in
    ("kiln.v1.JobService/FollowStepLog", #"{"jobId":"\#(try await world.job(discarded: true).id)","stepId":"0"}"#)
  },
  "ProjectService/CreateProject": { _, who in
    ("kiln.v1.ProjectService/CreateProject", #"{"name":"web-by-\#(who.rawValue.filter(\.isLetter))"}"#)
  },
  "ProjectService/GetProject": { _, _ in ("kiln.v1.ProjectService/GetProject", #"{"name":"alpha"}"#) },
  "ProjectService/ListProjects": { _, _ in ("kiln.v1.ProjectService/ListProjects", "{}") },
  "ProjectService/UpdateProject": { _, _ in
    ("kiln.v1.ProjectService/UpdateProject", #"{"name":"alpha","description":"changed over HTTP"}"#)
  },
  "ProjectService/DeleteProject": { world, who in
    let name = "web-doomed-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createProject(name)
    return ("kiln.v1.ProjectService/DeleteProject", #"{"name":"\#(name)"}"#)
  },
  "SubjectService/CreateSubject": { _, who in
    ("kiln.v1.SubjectService/CreateSubject", #"{"project":"alpha","name":"web-by-\#(who.rawValue.filter(\.isLetter))","schema":"a INT"}"#)
  },
  "SubjectService/GetSubject": { _, _ in ("kiln.v1.SubjectService/GetSubject", #"{"project":"alpha","name":"s"}"#) },
  "SubjectService/ListSubjects": { _, _ in ("kiln.v1.SubjectService/ListSubjects", #"{"project":"alpha"}"#) },
  "SubjectService/UpdateSubject": { world, who in
    let name = "web-changed-by-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createSubject(name, project: "alpha")
    return ("kiln.v1.SubjectService/UpdateSubject", #"{"project":"alpha","name":"\#(name)","schema":"b INT"}"#)
  },
  "SubjectService/DeleteSubject": { world, who in
    let name = "web-deleted-by-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createSubject(name, project: "alpha")
    return ("kiln.v1.SubjectService/DeleteSubject", #"{"project":"alpha","name":"\#(name)"}"#)
  },
  "AccessService/WhoAmI": { _, _ in ("kiln.v1.AccessService/WhoAmI", "{}") },
  "AccessService/CreateUser": { _, who in
    ("kiln.v1.AccessService/CreateUser", #"{"name":"web-new-\#(who.rawValue.filter(\.isLetter))"}"#)
  },
  "AccessService/ListUsers": { _, _ in ("kiln.v1.AccessService/ListUsers", "{}") },
  "AccessService/SetUserDisabled": { world, who in
    let name = "web-disable-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    return ("kiln.v1.AccessService/SetUserDisabled", #"{"name":"\#(name)","disabled":true}"#)
  },
  "AccessService/GrantRole": { world, who in
    let name = "web-grant-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    return ("kiln.v1.AccessService/GrantRole", #"{"user":"\#(name)","project":"alpha","role":"ROLE_VIEWER"}"#)
  },
  "AccessService/RevokeRole": { world, who in
    let name = "web-revoke-\(who.rawValue.filter(\.isLetter))"
    _ = try await world.admin.createUser(name)
    try await world.admin.grantRole(.viewer, to: name, in: "alpha")
    return ("kiln.v1.AccessService/RevokeRole", #"{"user":"\#(name)","project":"alpha"}"#)
  },
  "AccessService/CreateToken": { _, _ in ("kiln.v1.AccessService/CreateToken", #"{"description":"own, over HTTP"}"#) },
  "AccessService/ListTokens": { _, _ in ("kiln.v1.AccessService/ListTokens", "{}") },
  "AccessService/RevokeToken": { world, _ in
    let other = try await world.admin.createToken(description: "someone else's")
    return ("kiln.v1.AccessService/RevokeToken", #"{"id":"\#(other.token.id)"}"#)
  },
  "AccessService/ListAuditEvents": { _, _ in ("kiln.v1.AccessService/ListAuditEvents", "{}") },
]
