// A runnable example of the Swift SDK: submits a job to a running kilnd, follows it
// to the end, then prints its steps. Start the server first (`swift run kilnd`), then:
//
//   swift run kiln-sdk-example [host:port]
import Foundation
import KilnClient

let address = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:7077"
let (host, port) = try KilnClientConfiguration.parseAddress(address)

try await withKilnClient(KilnClientConfiguration(host: host, port: port)) { kiln in
  // A job works on a subject of its project: create it unless it is there.
  do {
    _ = try await kiln.createSubject("sales_model", project: "examples", kind: "model")
  } catch let error as KilnError where error.code == .alreadyExists {}
  let job = try await kiln.submitJob(
    project: "examples", type: "INDEX_BUILD", subject: "sales_model", params: ["sleep_ms": "300"])
  print("submitted \(job.id) (\(job.status.rawValue))")

  // Follow the job: every status, step and progress change, until it is final.
  for try await event in kiln.watchJob(job.id, includeProgress: true) {
    if let current = event.job {
      let step = current.steps.first { $0.status == .running }?.name ?? "-"
      print("revision \(event.revision): \(current.status.rawValue) \(current.progress)% step \(step)")
    }
  }

  let done = try await kiln.job(job.id)
  for step in done.steps {
    print("  \(step.index) \(step.name): \(step.status.rawValue)")
  }
  print("\(done.id) is \(done.status.rawValue) after \(done.durationMillis) ms")
}
