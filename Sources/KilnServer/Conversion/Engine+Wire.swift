import Foundation
import KilnCore
import KilnEngine
public import KilnWatch
import KilnProto
import KilnWire
import SwiftProtobuf

// The wire forms of the engine's own values (a batch's outcome, a watch message); the
// mapping of the domain's values is KilnWire's.

extension Kiln_V1_BatchJobsResponse {
  init(_ outcome: JobEngine.BatchOutcome, now: Date = Date()) {
    self.init()
    results = outcome.items.map { item in
      Kiln_V1_BatchJobResult.with {
        $0.id = item.id
        $0.ok = item.ok
        if let job = item.job { $0.job = Kiln_V1_Job(job, now: now) }
        if let error = item.error {
          $0.error = Kiln_V1_BatchJobError.with {
            $0.code = Int32(error.code.grpcStatus)
            $0.message = error.message
          }
        }
      }
    }
    succeeded = Int32(outcome.succeeded)
    failed = Int32(outcome.failed)
  }
}

extension Kiln_V1_WatchJobsResponse {
  init(_ message: WatchMessage, now: Date = Date()) {
    self.init()
    switch message.kind {
    case .snapshot: kind = .snapshot
    case .snapshotEnd: kind = .snapshotEnd
    case .change(.created): kind = .created
    case .change(.updated): kind = .updated
    case .change(.deleted): kind = .deleted
    case .heartbeat: kind = .heartbeat
    }
    revision = message.revision
    if let job = message.job { self.job = Kiln_V1_Job(job, now: now) }
    time = Google_Protobuf_Timestamp(date: message.time)
  }
}
