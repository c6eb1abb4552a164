// A runnable example of the Swift SDK: submits a job to a running kilnd, follows it
// to the end, then prints its steps. Start the server first (`swift run kilnd`), then:
//
//   swift run kiln-sdk-example [host:port]
//
// The token comes from $KILN_TOKEN or $KILN_TOKEN_FILE, else from the file a new kilnd
// writes for its first ADMIN, ./kiln-data/admin.token.
import Foundation
import KilnClient

var configuration = try KilnClientConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
if let address = CommandLine.arguments.dropFirst().first {
  (configuration.host, configuration.port) = try KilnClientConfiguration.parseAddress(address)
}
if configuration.token == nil, FileManager.default.fileExists(atPath: "kiln-data/admin.token") {
  configuration.token = try KilnClientConfiguration.readToken(file: "kiln-data/admin.token")
}

try await withKilnClient(configuration) { kiln in
  // A job works on a subject of its project: create it unless it is there.
  do {
    _ = try await kiln.createSubject("sales_model", project: "default", kind: "model")
  } catch let error as KilnError where error.code == .alreadyExists {}
  let job = try await kiln.submitJob(
    project: "default", type: "INDEX_BUILD", subject: "sales_model", params: ["sleep_ms": "300"])
  print("submitted \(job.id) (\(job.status.rawValue))")

  // Every change of the job until it is final; survives disconnects and server restarts.
  for try await event in kiln.watchJob(job.id) {
    if let current = event.job {
      let step = current.steps.first { $0.status == .running }.map { " (\($0.name))" } ?? ""
      print("revision \(event.revision): \(current.status.rawValue) \(current.progress)%\(step)")
    }
  }

  let done = try await kiln.job(job.id)
  for step in done.steps {
    print("  \(step.index) \(step.name): \(step.status.rawValue)")
  }
  print("\(done.id) is \(done.status.rawValue) after \(done.durationMillis) ms")
}
