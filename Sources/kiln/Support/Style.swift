import Foundation
import KilnClient

/// Colours for a terminal: only when stdout is one, and never with `NO_COLOR` set
/// (https://no-color.org) or `--no-color`.
enum Style {
  nonisolated(unsafe) static var disabled = false

  static var enabled: Bool {
    !disabled && isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
  }

  /// `text` in the colour of `status`, if colours are on.
  static func status(_ status: JobStatus, _ text: String) -> String {
    guard enabled else { return text }
    let code =
      switch status {
      case .pending: "36"
      case .running: "34"
      case .paused: "33"
      case .error: "31"
      case .discarded: "90"
      case .finished: "32"
      }
    return "\u{1B}[\(code)m\(text)\u{1B}[0m"
  }

  /// A bar for a percentage: `[######----]`.
  static func bar(_ percent: Int, width: Int = 20) -> String {
    let filled = max(0, min(width, percent * width / 100))
    return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
  }
}
