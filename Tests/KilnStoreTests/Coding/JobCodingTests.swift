import Foundation
import KilnCore
import KilnStore
import Testing

/// The stored form of a job, and the cache of decoded jobs behind it.
@Suite("Job coding", .timeLimit(.minutes(1)))
struct JobCodingTests {
  @Test("a decoded job is the job encoded, also when its text was decoded before, and a changed text decodes anew")
  func decodedJobsFollowTheirText() throws {
    var job = makeJob()
    let first = try JobCoding.encodeJob(job)
    #expect(try JobCoding.decodeJob(first) == job)
    #expect(try JobCoding.decodeJob(first) == job, "from the cache")
    job.move(to: .running, at: .kilnNow())
    job.params = ["k": "v"]
    let second = try JobCoding.encodeJob(job)
    #expect(second != first)
    #expect(try JobCoding.decodeJob(second) == job)
    #expect(try JobCoding.decodeJob(first).status == .pending)
    // More texts than the cache has slots: every one still decodes to its own job.
    let many = (0..<3000).map { i in makeJob(id: "job-\(i)") }
    let texts = try many.map(JobCoding.encodeJob)
    for (text, expected) in zip(texts, many) { #expect(try JobCoding.decodeJob(text).id == expected.id) }
    for (text, expected) in zip(texts.reversed(), many.reversed()) { #expect(try JobCoding.decodeJob(text) == expected) }
  }

  @Test("hex is lowercase, two digits a byte")
  func hex() {
    #expect([UInt8]().lowercaseHex == "")
    #expect([0x00, 0x0f, 0xa0, 0xff, 0x1b].lowercaseHex == "000fa0ff1b")
  }
}
