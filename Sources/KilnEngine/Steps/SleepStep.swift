import KilnCore

/// Simulated work: sleeps for a duration in ten ticks, reporting progress after each.
///
/// Job params steer it for demos and tests (documented on ``StepDefinition/Kind/sleep(durationMillis:)``):
/// `sleep_ms` overrides the duration, `fail_step` names a step that fails, and
/// `fail_times` limits how many of its executions fail.
enum SleepStep {
  static func run(durationMillis: Int64, context: StepContext) async -> StepOutcome {
    var duration = durationMillis
    if let override = context.params["sleep_ms"], let value = Int64(override), value >= 0 { duration = value }
    let failsHere = context.params["fail_step"].map {
      $0 == context.stepName || $0 == String(context.stepIndex)
    } ?? false
    let failTimes = context.params["fail_times"].flatMap(Int.init) ?? Int.max
    let shouldFail = failsHere && context.priorFailures < failTimes

    context.log.append("\(context.stepName): simulated work for \(duration) ms")
    let ticks = 10
    for tick in 1...ticks {
      do {
        try await Task.sleep(for: .milliseconds(duration / Int64(ticks)))
      } catch {
        context.log.append("\(context.stepName): stopped")
        return .stopped
      }
      if shouldFail && tick == ticks / 2 {
        context.log.append("\(context.stepName): failing as asked by fail_step")
        return .failed("simulated failure of step \(context.stepName) (fail_step)")
      }
      context.reportProgress(tick * 100 / ticks)
      context.log.append("\(context.stepName): \(tick * 100 / ticks)%")
    }
    return .succeeded
  }
}
