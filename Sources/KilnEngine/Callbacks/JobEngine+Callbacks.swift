import Foundation
import KilnCore
import KilnStore
import Logging

extension JobEngine {
  /// The rule the store applies inside each job change: a change that brings the job to
  /// FINISHED, ERROR or DISCARDED queues one callback per URL of the job, with the
  /// payload as of that change.
  static func callbackTrigger(_ targets: CallbackTargets, logger: Logger) -> CallbackTrigger {
    { job, previousStatus in
      guard previousStatus != job.status, CallbackDelivery.triggeringStatuses.contains(job.status) else { return [] }
      let urls = targets.urls(for: job)
      guard !urls.isEmpty else { return [] }
      do {
        let payload = try CallbackPayload(job: job, previousStatus: previousStatus).encoded()
        return urls.map { CallbackRequest(url: $0, payload: payload) }
      } catch {
        // Cannot happen with these plain fields; never fail the job's change over it.
        logger.error("cannot encode a callback payload: \(error)", metadata: ["job": "\(job.id)"])
        return []
      }
    }
  }
}
