public import KilnCore
public import KilnStore
public import Logging

/// The rule that decides which completion callbacks a job change queues: one to each
/// URL `targets` gives for the job, when the change brings it to FINISHED, ERROR or
/// DISCARDED. Whoever assembles the server installs it in the store
/// (`store.setCallbackTrigger(CallbackRule.trigger(...))`); ``CallbackDeliverer``
/// delivers what it queues.
public enum CallbackRule {
  /// The trigger for `targets`; a payload that cannot be encoded is logged, and the
  /// job's change goes on without its callbacks.
  public static func trigger(_ targets: CallbackTargets, logger: Logger) -> CallbackTrigger {
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
