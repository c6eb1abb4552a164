import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The terminal on stdin/stdout, switched between raw mode (for the line editor) and
/// the mode it had (for running commands).
///
/// Written by hand with termios: the shell must edit lines without a system library
/// such as readline or libedit, and needs only a handful of keys and escape sequences.
final class Terminal {
  private var original = termios()
  private var isRaw = false

  init() {
    tcgetattr(STDIN_FILENO, &original)
  }

  deinit { restore() }

  /// Keys arrive one by one, unechoed; Ctrl-C and Ctrl-D arrive as bytes. Keys typed
  /// ahead while a command ran are kept (TCSADRAIN, not TCSAFLUSH).
  func enterRawMode() {
    var raw = original
    raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
    raw.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
    withUnsafeMutableBytes(of: &raw.c_cc) { cc in
      cc[Int(VMIN)] = 1
      cc[Int(VTIME)] = 0
    }
    tcsetattr(STDIN_FILENO, TCSADRAIN, &raw)
    isRaw = true
  }

  /// Back to the mode the terminal had when the shell started.
  func restore() {
    guard isRaw else { return }
    tcsetattr(STDIN_FILENO, TCSADRAIN, &original)
    isRaw = false
  }

  /// Reads one byte; `nil` at end of input.
  func readByte() -> UInt8? {
    var byte: UInt8 = 0
    while true {
      let count = read(STDIN_FILENO, &byte, 1)
      if count == 1 { return byte }
      if count < 0 && errno == EINTR { continue }
      return nil
    }
  }

  /// Writes text as is (escape sequences included) and flushes it.
  func write(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
      if written <= 0 { return }
      offset += written
    }
  }
}
