import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KilnClient
import KilnCore
import KilnEngine
public import KilnWatch
import KilnProto
import KilnServer
import SwiftProtobuf
import KilnTestSupport
import Testing

@Suite("WatchJobs, WatchJob and FollowStepLog end to end over HTTP/2", .timeLimit(.minutes(3)))
struct WatchTests {
  static let long = ["sleep_ms": "600000"]

  @Test("no since_revision: the matching jobs as snapshot, the snapshot end, then live changes")
  func snapshotThenLive() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1) { jobs, _ in
      let a = try await jobs.submit(params: Self.long)
      let b = try await jobs.submit(params: Self.long)
      let snapshotDone = LockedBox(false)
      let watch = Task {
        try await jobs.collect(.init()) { messages in
          if messages.last?.kind == .snapshotEnd { snapshotDone.mutate { $0 = true } }
          return messages.contains { $0.kind == .updated && $0.job.status == .paused }
        }
      }
      // Once the watch has its snapshot, change things.
      let deadline = Date().addingTimeInterval(20)
      while !snapshotDone.value && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
      let c = try await jobs.submit(params: Self.long)
      _ = try await jobs.pauseJob(.with { $0.id = c.id })
      let messages = try await watch.value
      let snapshot = messages.prefix { $0.kind == .snapshot }
      #expect(Set(snapshot.map(\.job.id)) == [a.id, b.id])
      let end = try #require(messages.first { $0.kind == .snapshotEnd })
      #expect(end.revision >= snapshot.map(\.revision).max()!)
      // Heartbeats are not changes: on a loaded machine one may come (at the snapshot
      // end's revision, which is as far as the watch is consistent) before `c` is created.
      let live = messages.drop { $0.kind != .snapshotEnd }.dropFirst().filter { $0.kind != .heartbeat }
      #expect(messages.filter { $0.kind == .heartbeat }.allSatisfy { $0.revision >= end.revision })
      #expect(live.first?.kind == .created && live.first?.job.id == c.id)
      #expect(live.allSatisfy { $0.revision > end.revision })
      #expect(live.last?.job.id == c.id && live.last?.job.status == .paused)
      let revisions = changeRevisions(messages)
      #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count)
    }
  }

  @Test("since_revision replays every change after it, then goes live; no gap, no repeat, under a concurrent writer")
  func resumeWithConcurrentWriter() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 4) { jobs, _ in
      for i in 0..<5 { _ = try await jobs.submit(subject: "warm\(i)", params: ["sleep_ms": "30"]) }
      let since = try await jobs.listJobs(.init()).jobs.map(\.revision).max()!
      // A writer keeps submitting and pausing while the watch replays and goes live.
      let target = LockedBox<Int64?>(nil)
      let writer = Task {
        var last: Int64 = 0
        for i in 0..<30 {
          let job = try await jobs.submit(subject: "w\(i)", params: ["sleep_ms": "40"])
          last = max(last, job.revision)
          if i % 3 == 0, let paused = try? await jobs.pauseJob(.with { $0.id = job.id }) {
            last = max(last, paused.job.revision)
          }
        }
        target.mutate { $0 = last }
      }
      // Every change of every job, progress included, until the writer's last write:
      // the revisions must be consecutive. (Heartbeats keep the check running once quiet.)
      let messages = try await jobs.collect(.with {
        $0.sinceRevision = since
        $0.includeProgress = true
      }) { messages in
        guard let target = target.value, let last = messages.last else { return false }
        return last.revision >= target
      }
      _ = try await writer.value
      let revisions = changeRevisions(messages)
      #expect(revisions.first == since + 1)
      #expect(revisions == Array((since + 1)...(since + Int64(revisions.count))), "consecutive: nothing lost or repeated")
    }
  }

  @Test("a watch resumes across a restart of the server on the same data directory with no gap or repeat")
  func resumeAcrossRestart() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    // First life: watch everything while jobs run; the shutdown ends the stream with UNAVAILABLE.
    let (firstMessages, lastRevision): ([Kiln_V1_WatchJobsResponse], Int64) = try await harness.run(maxRunning: 2) { jobs, app in
      let watch = Task { () -> ([Kiln_V1_WatchJobsResponse], RPCError?) in
        let received = LockedBox<[Kiln_V1_WatchJobsResponse]>([])
        do {
          try await jobs.watchJobs(.with { $0.includeProgress = true }) { response in
            for try await message in response.messages { received.mutate { $0.append(message) } }
          }
          return (received.value, nil)
        } catch let error as RPCError {
          return (received.value, error)
        } catch {
          return (received.value, nil)
        }
      }
      for i in 0..<4 { _ = try await jobs.submit(subject: "r\(i)", params: ["sleep_ms": "400"]) }
      // Shut down while jobs run, so that the second life has interrupted jobs to requeue.
      #expect(try await eventually { try await jobs.listJobs(.with { $0.filter.statuses = [.running] }).jobs.count == 2 })
      await app.shutdown()
      let (received, error) = await watch.value
      #expect(error?.code == .unavailable)
      let last = Int64(error?.metadata[stringValues: "kiln-last-revision"].first(where: { _ in true }) ?? "") ?? -1
      #expect(last == received.last?.revision, "the trailer names the last revision sent")
      return (received, last)
    }
    // Second life: the interrupted jobs are requeued and finish; resume from the last revision.
    try await harness.run(maxRunning: 2) { jobs, _ in
      let resumed = try await jobs.collect(.with {
        $0.sinceRevision = lastRevision
        $0.includeProgress = true
      }) { messages in
        // A job may already have finished in the first life when the machine is slow to shut down.
        finishedIDs(firstMessages).union(finishedIDs(messages)).count == 4
      }
      let all = changeRevisions(firstMessages) + changeRevisions(resumed)
      let first = try #require(all.first)
      #expect(all == Array(first...(first + Int64(all.count) - 1)), "consecutive across the restart")
    }
  }

  @Test("a compacted revision is OUT_OF_RANGE with the oldest revision; a future one is INVALID_ARGUMENT")
  func outOfRange() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1, configure: { $0.eventRetentionCount = 5 }) { jobs, app in
      var first = ""
      for i in 0..<6 {
        let id = try await jobs.submit(subject: "c\(i)", params: Self.long).id
        if i == 0 { first = id }
      }
      // Quiet: the only running job has started its long first step; nothing else will change.
      let deadline = Date().addingTimeInterval(20)
      while try await jobs.get(first).steps[0].status != .running, Date() < deadline {
        try await Task.sleep(for: .milliseconds(20))
      }
      try await app.compactor.compact()
      let current = try await jobs.listJobs(.init()).jobs.map(\.revision).max()!
      let error = await expectRPCError(.outOfRange, mentioning: "oldest revision available is \(current - 4)") {
        _ = try await jobs.collect(.with { $0.sinceRevision = 1 }) { _ in true }
      }
      #expect(error?.metadata[stringValues: "kiln-oldest-revision"].first(where: { _ in true }) == String(current - 4))
      await expectRPCError(.invalidArgument, mentioning: "since_revision") {
        _ = try await jobs.collect(.with { $0.sinceRevision = current + 100 }) { _ in true }
      }
      // The oldest kept revision minus one is still a valid resume point.
      let replay = try await jobs.collect(.with { $0.sinceRevision = current - 5 }) { $0.count == 5 }
      #expect(changeRevisions(replay) == Array((current - 4)...current))
    }
  }

  @Test("an idle watch gets heartbeats carrying the current revision")
  func heartbeats() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(configure: { $0.heartbeatInterval = .milliseconds(200) }) { jobs, _ in
      let job = try await jobs.submit(params: Self.long)
      let messages = try await jobs.collect(.with { $0.filter.projects = ["elsewhere"] }) { messages in
        messages.filter { $0.kind == .heartbeat }.count >= 2
      }
      #expect(messages.first?.kind == .snapshotEnd)
      let beats = messages.filter { $0.kind == .heartbeat }
      let current = try await jobs.get(job.id).revision
      #expect(beats.allSatisfy { $0.revision >= job.revision && $0.revision <= current })
      #expect(beats.map(\.revision) == beats.map(\.revision).sorted())
    }
  }

  @Test("filters apply to a watch exactly as to ListJobs: the watcher's view equals the list")
  func filtersMatchList() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 2) { jobs, app in
      var filter = Kiln_V1_JobFilter()
      filter.projects = ["alpha"]
      filter.statuses = [.pending, .paused]
      let request = Kiln_V1_WatchJobsRequest.with { $0.filter = filter }
      let ids = try await withThrowingTaskGroup(of: [String].self) { group in
        group.addTask {
          try await jobs.watchJobs(request) { response in
            var view: Set<String> = []
            for try await message in response.messages {
              switch message.kind {
              case .snapshot, .created: view.insert(message.job.id)
              case .deleted: view.remove(message.job.id)
              case .updated: #expect(view.contains(message.job.id))
              default: break
              }
              if message.kind == .created, message.job.subject == "done" { break }
            }
            return view.sorted()
          }
        }
        // The changes below are made once the watch is subscribed.
        #expect(await eventually { app.hub.subscriberCount == 1 })
        var made: [String] = []
        for i in 0..<6 {
          made.append(try await jobs.submit(project: i % 2 == 0 ? "alpha" : "beta", subject: "f\(i)", params: Self.long).id)
        }
        _ = try await jobs.pauseJob(.with { $0.id = made[0] })
        _ = try await jobs.discardJob(.with { $0.id = made[2] })
        _ = try await jobs.resumeJob(.with { $0.id = made[0] })
        // A marker that enters the view last ends the watcher's loop.
        let marker = try await jobs.submit(project: "alpha", subject: "done", params: Self.long)
        _ = marker
        return try await group.next()!
      }
      let listed = try await jobs.listJobs(.with { $0.filter = filter }).jobs.map(\.id).sorted()
      #expect(ids == listed)
    }
  }

  @Test("a watcher that stops reading is ended with RESOURCE_EXHAUSTED and its last revision; a reading one keeps going")
  func stalledSubscriber() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run(maxRunning: 1, configure: { $0.watchWindow = 20 }) { jobs, app in
      let port = try await app.listeningPort
      // A client with a small HTTP/2 window, so that not reading soon blocks the server's writes.
      var config = HTTP2ClientTransport.Posix.Config.defaults
      config.http2.targetWindowSize = 65535
      try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config),
        interceptors: [BearerTokenInterceptor(token: try harness.adminToken)]
      ) { client in
        let stalled = Kiln_V1_JobService.Client(wrapping: client)
        let release = AsyncStream.makeStream(of: Void.self)
        let stalledWatch = Task { () -> ([Int64], RPCError?) in
          let revisions = LockedBox<[Int64]>([])
          do {
            try await stalled.watchJobs(.init()) { response in
              var iterator = response.messages.makeAsyncIterator()
              _ = try await iterator.next()  // the snapshot end: the stream is open
              for await _ in release.stream { break }
              while let message = try await iterator.next() { revisions.mutate { $0.append(message.revision) } }
            }
            return (revisions.value, nil)
          } catch let error as RPCError {
            return (revisions.value, error)
          } catch {
            return (revisions.value, nil)
          }
        }
        #expect(await eventually { app.hub.subscriberCount >= 1 }, "the stalled watch is open: \(app.hub.subscriberCount) subscribers")
        let big = String(repeating: "x", count: 8 * 1024)
        var last: Int64 = 0
        let healthy = Task {
          try await jobs.collect(.init()) { messages in messages.count > 1 && messages.last!.job.subject == "last" }
        }
        for i in 0..<60 {
          last = try await jobs.submit(subject: "b\(i)", params: ["sleep_ms": "600000", "padding": big]).revision
        }
        last = try await jobs.submit(subject: "last", params: Self.long).revision
        let seen = try await healthy.value
        #expect(seen.last?.revision == last, "the reading watcher got everything")
        // The server ends the stalled watch while its client still is not reading.
        let deadline = Date().addingTimeInterval(20)
        while app.hub.subscriberCount > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(app.hub.subscriberCount == 0, "the stalled subscription was ended without the client's help")
        release.continuation.yield()
        let (revisions, error) = await stalledWatch.value
        #expect(error?.code == .resourceExhausted)
        let trailer = error?.metadata[stringValues: "kiln-last-revision"].first(where: { _ in true }).flatMap { Int64($0) }
        #expect(trailer != nil)
        #expect(trailer == (revisions.last ?? trailer), "resume point is the last revision delivered")
        #expect((trailer ?? .max) < last)
      }
    }
  }

  @Test("WatchJob sends the job's changes and ends by itself at a final status")
  func watchJobEnds() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    try await harness.run { jobs, app in
      let job = try await jobs.submit(params: ["sleep_ms": "50"])
      let messages = try await jobs.collectJob(.with { $0.id = job.id })
      #expect(messages.first?.kind == .snapshot)
      #expect(messages.last?.job.status == .finished)
      #expect(Set(messages.compactMap { $0.hasJob ? $0.job.id : nil }) == [job.id])
      // A job already final: its state, then the end.
      let again = try await jobs.collectJob(.with { $0.id = job.id })
      #expect(again.map(\.kind) == [.snapshot, .snapshotEnd])
      await expectRPCError(.notFound, mentioning: "job nope not found") {
        _ = try await jobs.collectJob(.with { $0.id = "nope" })
      }
      // Deleted while watched: the stream ends with the deletion.
      let held = try await jobs.submit(params: Self.long)
      let watch = Task { try await jobs.collectJob(.with { $0.id = held.id }) }
      #expect(await eventually { app.hub.subscriberCount == 1 }, "the watch is open")
      _ = try await jobs.discardJob(.with { $0.id = held.id })
      let watched = try await watch.value
      #expect(watched.first?.kind == .snapshot)
      #expect(watched.last(where: \.hasJob)?.job.status == .discarded)
    }
  }

  @Test("FollowStepLog delivers the whole log of a running exec step and ends when the step ends")
  func followStepLog() async throws {
    let harness = ServerHarness()
    defer { harness.cleanUp() }
    let scripts = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-follow-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scripts) }
    let script = scripts.appendingPathComponent("talk.sh")
    let release = scripts.appendingPathComponent("release")
    // Ten lines, then a wait for the test to have read some, then ten more: the log is
    // followed while it grows, whatever the machine's load.
    try """
      #!/bin/sh
      i=1
      while [ $i -le 20 ]; do
        echo "line $i"
        if [ $i -eq 10 ]; then while [ ! -f "\(release.path)" ]; do sleep 0.02; done; fi
        i=$((i + 1))
      done
      """.write(to: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
    let catalog = try JobTypeCatalog(types: [
      JobType(name: "TALK", steps: [StepDefinition(name: "SAY", kind: .exec(program: script.path, arguments: [], environment: [:]))])
    ])
    try await harness.run(configure: { $0.jobTypes = catalog }) { jobs, _ in
      let job = try await jobs.submit(type: "TALK", params: [:])
      #expect(try await jobs.waitFor(job.id, .running))
      var options = CallOptions.defaults
      options.timeout = .seconds(30)
      let (text, offsets) = try await jobs.followStepLog(.with {
        $0.jobID = job.id
        $0.stepID = "SAY"
      }, options: options) { response in
        var data = Data()
        var offsets: [Int64] = []
        for try await chunk in response.messages {
          data.append(chunk.data)
          offsets.append(chunk.nextOffset)
          if String(decoding: data, as: UTF8.self).contains("line 10\n") {
            FileManager.default.createFile(atPath: release.path, contents: Data())
          }
        }
        return (String(decoding: data, as: UTF8.self), offsets)
      }
      for i in 1...20 { #expect(text.contains("line \(i)\n")) }
      #expect(text.contains("=== SAY succeeded ==="))
      #expect(offsets == offsets.sorted())
      #expect(offsets.count > 1, "delivered as it was written")
      #expect(try await jobs.get(job.id).status == .finished)
    }
  }
}
