import Foundation
import KilnClient
import KilnCore
import KilnEngine
import KilnCallbacks
import KilnMetrics
import KilnServer
import KilnTestSupport
import Synchronization
import Testing

@Suite("Completion callbacks", .serialized, .timeLimit(.minutes(3)))
struct CallbackTests {
  /// One quick sleep step per type; each type posts to its URL.
  func catalog(_ urls: [String: String]) throws -> JobTypeCatalog {
    try JobTypeCatalog(
      types: urls.sorted { $0.key < $1.key }.map { name, url in
        JobType(name: name, steps: [StepDefinition(name: "WORK", kind: .sleep(durationMillis: 10))], callbackURL: url)
      })
  }

  /// Retries quickly, so that tests wait for states, not for backoff.
  func fast(timeout: Duration = .seconds(10)) -> CallbackConfiguration {
    CallbackConfiguration(
      maxConcurrentDeliveries: 4, maxConcurrentPerReceiver: 2, timeout: timeout, initialBackoff: .milliseconds(20),
      maxBackoff: .milliseconds(100), maxAttempts: 10)
  }

  @Test("a receiver that fails twice then succeeds gets the callback; the job's detail shows 3 attempts, delivered")
  func retriedUntilDelivered() async throws {
    let receiver = try await CallbackReceiver.start { $0 <= 2 ? .status(500) : .status(200) }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let (job, delivery) = try await harness.run(configure: {
      $0.jobTypes = try? self.catalog(["NOTIFY": receiver.url])
      $0.callbacks = self.fast()
    }) { client, app in
      let job = try await client.submit(project: "p1", type: "NOTIFY", subject: "s")
      let done = try await client.waitForJob(job.id)
      #expect(done.status == .finished)
      #expect(try await eventually { try await client.job(job.id).callbackDeliveries?.first?.delivered == true })
      // The attempts are counted by outcome in the metrics.
      let counted = await eventually {
        let scrape = try? Scrape(String(decoding: app.metrics.exposition(), as: UTF8.self))
        return scrape?.value("kiln_callback_attempts_total", ["outcome": "retrying"]) == 2
          && scrape?.value("kiln_callback_attempts_total", ["outcome": "delivered"]) == 1
      }
      #expect(counted, "\(String(decoding: app.metrics.exposition(), as: UTF8.self))")
      let detail = try await client.job(job.id)
      return (detail, try #require(detail.callbackDeliveries?.first))
    }
    await receiver.stop()

    #expect(job.callbackDeliveries?.count == 1)
    #expect(delivery.url == receiver.url)
    #expect(delivery.jobStatus == .finished)
    #expect(delivery.attempts == 3)
    #expect(delivery.delivered)
    #expect(delivery.lastResult == "HTTP 200")
    #expect(delivery.lastStatusCode == 200)
    #expect(delivery.lastAttemptTime != nil)
    #expect(delivery.nextAttemptTime == nil)

    let received = receiver.received
    #expect(received.count == 3)
    #expect(received.allSatisfy { $0.method == "POST" && $0.uri == "/hook" })
    #expect(received.allSatisfy { $0.headers["content-type"] == "application/json" })
    #expect(Set(received.map { $0.headers["kiln-delivery"] ?? "" }) == [String(delivery.id)])
    #expect(Set(received.map(\.body)).count == 1, "every attempt sends the same payload")
    let payload = try CallbackPayload.decode(try #require(received.first).body)
    #expect(payload.event == "job.ended")
    #expect(payload.jobID == job.id)
    #expect(payload.project == "p1")
    #expect(payload.jobType == "NOTIFY")
    #expect(payload.subject == "s")
    #expect(payload.status == "FINISHED")
    #expect(payload.previousStatus == "RUNNING")
    #expect(payload.errorMessage == nil)
    #expect(payload.revision == delivery.revision)
    #expect(payload.endTime == job.endTime)
  }

  @Test("a project's callback URL receives its jobs' endings, beside the job type's; a new URL applies from then on")
  func projectCallbacks() async throws {
    let typeReceiver = try await CallbackReceiver.start { _ in .status(200) }
    let first = try await CallbackReceiver.start { _ in .status(200) }
    let second = try await CallbackReceiver.start { _ in .status(200) }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(configure: {
      $0.jobTypes = try? self.catalog(["NOTIFY": typeReceiver.url])
      $0.callbacks = self.fast()
    }) { client, _ in
      let bad = await #expect(throws: KilnError.self) { _ = try await client.createProject("hooked", callbackURL: "ftp://x") }
      #expect(bad?.field == "callback_url")
      let project = try await client.createProject("hooked", callbackURL: first.url)
      #expect(project.callbackURL == first.url)
      let job = try await client.submit(project: "hooked", type: "NOTIFY", subject: "s")
      _ = try await client.waitForJob(job.id)
      #expect(try await eventually { try await client.job(job.id).callbackDeliveries?.filter(\.delivered).count == 2 })
      #expect(Set(try await client.job(job.id).callbackDeliveries?.map(\.url) ?? []) == [typeReceiver.url, first.url])
      #expect(try await client.job(job.id).callbackDeliveries?.count == 2, "each URL once")

      // A job of another project notifies only its type's receiver.
      let other = try await client.submit(project: "p1", type: "NOTIFY", subject: "s")
      _ = try await client.waitForJob(other.id)
      #expect(try await eventually { try await client.job(other.id).callbackDeliveries?.first?.delivered == true })
      #expect(try await client.job(other.id).callbackDeliveries?.map(\.url) == [typeReceiver.url])

      let updated = try await client.updateProject("hooked", callbackURL: second.url)
      #expect(updated.callbackURL == second.url && updated.description == project.description)
      let later = try await client.submit(project: "hooked", type: "NOTIFY", subject: "s")
      _ = try await client.waitForJob(later.id)
      #expect(try await eventually { try await client.job(later.id).callbackDeliveries?.filter(\.delivered).count == 2 })
      #expect(Set(try await client.job(later.id).callbackDeliveries?.map(\.url) ?? []) == [typeReceiver.url, second.url])

      let cleared = try await client.updateProject("hooked", callbackURL: "")
      #expect(cleared.callbackURL == nil)
    }
    #expect(first.received.count == 1 && second.received.count == 1)
    await typeReceiver.stop()
    await first.stop()
    await second.stop()
  }

  @Test("a receiver that never answers does not hold up other jobs' callbacks to a good receiver")
  func hangingReceiverDoesNotSlowOthers() async throws {
    let hanging = try await CallbackReceiver.start { _ in .never }
    let good = try await CallbackReceiver.start { _ in .status(204) }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(configure: {
      $0.jobTypes = try? self.catalog(["SLOW": hanging.url, "FAST": good.url])
      // An attempt may take ten minutes: were the good deliveries queued behind the
      // hanging ones, they would not arrive within the test's patience.
      $0.callbacks = self.fast(timeout: .seconds(600))
    }) { client, _ in
      var slow: [String] = []
      // More hanging deliveries than there are slots in all (4).
      for _ in 0..<5 { slow.append(try await client.submit(project: "p1", type: "SLOW", subject: "s").id) }
      #expect(await eventually { hanging.received.count == 2 }, "the hanging receiver holds its two slots")
      var fast: [String] = []
      for _ in 0..<4 { fast.append(try await client.submit(project: "p1", type: "FAST", subject: "s").id) }

      let allDelivered = try await eventually {
        for id in fast where try await client.job(id).callbackDeliveries?.first?.delivered != true { return false }
        return true
      }
      #expect(allDelivered)
      #expect(Set(try good.received.map { try CallbackPayload.decode($0.body).jobID }) == Set(fast))
      for id in slow {
        let delivery = try #require(try await client.job(id).callbackDeliveries?.first)
        #expect(!delivery.delivered)
        #expect(delivery.attempts == 0, "no attempt to the hanging receiver has ended")
      }
      #expect(hanging.received.count == 2, "never more than two attempts in flight to one receiver")
    }
    await hanging.stop()
    await good.stop()
  }

  @Test("a delivery in flight at shutdown is delivered after a restart")
  func pendingDeliverySurvivesRestart() async throws {
    let answering = Atomic<Bool>(false)
    let receiver = try await CallbackReceiver.start { _ in answering.load(ordering: .relaxed) ? .status(200) : .never }
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let configure: (inout ServerConfiguration) -> Void = {
      $0.jobTypes = try? self.catalog(["NOTIFY": receiver.url])
      $0.callbacks = self.fast(timeout: .seconds(600))
    }
    let jobID = try await harness.run(configure: configure) { client, _ in
      let job = try await client.submit(project: "p1", type: "NOTIFY", subject: "s")
      #expect(await eventually { receiver.received.count == 1 }, "the first attempt is in flight")
      let delivery = try #require(try await client.job(job.id).callbackDeliveries?.first)
      #expect(!delivery.delivered && delivery.attempts == 0)
      return job.id
    }
    // Shut down with the attempt in flight; the receiver answers from now on.
    answering.store(true, ordering: .relaxed)

    let delivery = try await harness.run(configure: configure) { client, _ in
      #expect(try await eventually { try await client.job(jobID).callbackDeliveries?.first?.delivered == true })
      return try #require(try await client.job(jobID).callbackDeliveries?.first)
    }
    await receiver.stop()
    #expect(delivery.delivered)
    #expect(delivery.attempts == 1, "the attempt cut short by the shutdown is not counted")
    let received = receiver.received
    #expect(received.count == 2)
    #expect(Set(received.map { $0.headers["kiln-delivery"] ?? "" }) == [String(delivery.id)])
  }
}
