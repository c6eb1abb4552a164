/// Edits one line at a prompt: cursor keys, Home/End, Ctrl-A/E/B/F/K/U/W, history with
/// Up/Down, reverse search with Ctrl-R, completion with Tab, Ctrl-C to drop the line,
/// Ctrl-D on an empty line to leave.
final class LineEditor {
  /// What reading a line gave.
  enum Input: Equatable {
    case line(String)
    case interrupted
    case endOfInput
  }

  private let terminal: Terminal
  private let history: History
  /// Returns candidates for the word that ends at the cursor, given the text before it.
  private let complete: (String) async -> [String]

  private var buffer: [Character] = []
  private var cursor = 0
  private var prompt = ""
  private var lastKeyWasTab = false

  init(terminal: Terminal, history: History, complete: @escaping (String) async -> [String]) {
    self.terminal = terminal
    self.history = history
    self.complete = complete
  }

  func readLine(prompt: String) async -> Input {
    self.prompt = prompt
    buffer = []
    cursor = 0
    var historyIndex = history.lines.count
    var draft: [Character] = []
    terminal.enterRawMode()
    defer { terminal.restore() }
    redraw()
    while let byte = terminal.readByte() {
      let wasTab = lastKeyWasTab
      lastKeyWasTab = false
      switch byte {
      case 0x0D, 0x0A:
        terminal.write("\r\n")
        return .line(String(buffer))
      case 0x03:
        terminal.write("^C\r\n")
        return .interrupted
      case 0x04:
        if buffer.isEmpty {
          terminal.write("\r\n")
          return .endOfInput
        }
        if cursor < buffer.count { buffer.remove(at: cursor) }
      case 0x7F, 0x08:
        if cursor > 0 {
          buffer.remove(at: cursor - 1)
          cursor -= 1
        }
      case 0x01: cursor = 0
      case 0x05: cursor = buffer.count
      case 0x02: cursor = max(0, cursor - 1)
      case 0x06: cursor = min(buffer.count, cursor + 1)
      case 0x0B: buffer.removeSubrange(cursor...)
      case 0x15:
        buffer.removeSubrange(..<cursor)
        cursor = 0
      case 0x17:
        var start = cursor
        while start > 0 && buffer[start - 1] == " " { start -= 1 }
        while start > 0 && buffer[start - 1] != " " { start -= 1 }
        buffer.removeSubrange(start..<cursor)
        cursor = start
      case 0x09:
        await completeWord(showAll: wasTab)
        lastKeyWasTab = true
      case 0x12:
        if let accepted = reverseSearch() { return accepted }
      case 0x1B:
        switch readEscape() {
        case "A":
          if historyIndex > 0 {
            if historyIndex == history.lines.count { draft = buffer }
            historyIndex -= 1
            buffer = Array(history.lines[historyIndex])
            cursor = buffer.count
          }
        case "B":
          if historyIndex < history.lines.count {
            historyIndex += 1
            buffer = historyIndex == history.lines.count ? draft : Array(history.lines[historyIndex])
            cursor = buffer.count
          }
        case "C": cursor = min(buffer.count, cursor + 1)
        case "D": cursor = max(0, cursor - 1)
        case "H", "1~": cursor = 0
        case "F", "4~": cursor = buffer.count
        case "3~": if cursor < buffer.count { buffer.remove(at: cursor) }
        default: break
        }
      default:
        if byte >= 0x20 { insert(decodeCharacter(startingWith: byte)) }
      }
      redraw()
    }
    return .endOfInput
  }

  private func insert(_ text: String) {
    for character in text {
      buffer.insert(character, at: cursor)
      cursor += 1
    }
  }

  /// Reads the rest of a UTF-8 sequence that starts with `first`.
  private func decodeCharacter(startingWith first: UInt8) -> String {
    var bytes = [first]
    let extra = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
    for _ in 0..<extra { if let next = terminal.readByte() { bytes.append(next) } }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Reads an escape sequence after ESC: `[A`, `[3~`, `OH`...; returns what follows `[` or `O`.
  private func readEscape() -> String {
    guard let kind = terminal.readByte(), kind == UInt8(ascii: "[") || kind == UInt8(ascii: "O") else { return "" }
    var sequence = ""
    while let byte = terminal.readByte() {
      sequence.append(Character(UnicodeScalar(byte)))
      if (0x40...0x7E).contains(byte) { break }
    }
    return sequence
  }

  private func redraw() {
    let line = String(buffer)
    var text = "\r" + prompt + line + "\u{1B}[K"
    let back = buffer.count - cursor
    if back > 0 { text += "\u{1B}[\(back)D" }
    terminal.write(text)
  }

  /// Completes the word at the cursor: the whole candidate when there is one, the
  /// common prefix when there are several, and the list on a second Tab.
  private func completeWord(showAll: Bool) async {
    let before = String(buffer[..<cursor])
    let word = String(before.reversed().prefix { $0 != " " }.reversed())
    let candidates = await complete(before).filter { $0.hasPrefix(word) }
    guard !candidates.isEmpty else { return }
    if candidates.count == 1 {
      insert(String(candidates[0].dropFirst(word.count)) + " ")
      return
    }
    let common = candidates.dropFirst().reduce(candidates[0]) { prefix, candidate in
      String(zip(prefix, candidate).prefix { $0 == $1 }.map(\.0))
    }
    if common.count > word.count {
      insert(String(common.dropFirst(word.count)))
    } else if showAll {
      terminal.write("\r\n" + candidates.sorted().joined(separator: "  ") + "\r\n")
    }
  }

  /// Ctrl-R: searches the history backwards as the query is typed. Enter runs the match,
  /// Ctrl-R finds an older one, Ctrl-C or Ctrl-G gives up, another key edits the match.
  private func reverseSearch() -> Input? {
    var query = ""
    var match = history.lines.count
    func show() {
      let found = match < history.lines.count ? history.lines[match] : ""
      terminal.write("\r(reverse-i-search)`\(query)': \(found)\u{1B}[K")
    }
    show()
    while let byte = terminal.readByte() {
      switch byte {
      case 0x12:
        if let older = history.search(query, before: match) { match = older }
      case 0x7F, 0x08:
        query = String(query.dropLast())
        match = history.search(query, before: history.lines.count) ?? history.lines.count
      case 0x03, 0x07:
        terminal.write("\r\u{1B}[K")
        return nil
      case 0x0D, 0x0A:
        let found = match < history.lines.count ? history.lines[match] : ""
        terminal.write("\r\u{1B}[K" + prompt + found + "\r\n")
        return .line(found)
      default:
        if byte >= 0x20 {
          query.append(Character(UnicodeScalar(byte)))
          match = history.search(query, before: history.lines.count) ?? history.lines.count
        } else {
          if match < history.lines.count {
            buffer = Array(history.lines[match])
            cursor = buffer.count
          }
          terminal.write("\r\u{1B}[K")
          return nil
        }
      }
      show()
    }
    return .endOfInput
  }
}
