public import Foundation

/// The job monitor page's files: the copy built into kilnd (`Generated/WebPageFiles.swift`,
/// written by `dev/generate-web-page.sh` from `Sources/KilnWeb/Page`), or, with
/// `kilnd --web-root DIR`, the files of a directory read at each request (for working on
/// the page without rebuilding kilnd).
///
/// Built in rather than a SwiftPM resource for the reason the descriptor set is: a
/// resource bundle must sit beside the executable, and a kilnd copied alone would serve
/// no page.
public struct PageFiles: Sendable {
  private let directory: URL?

  /// The built-in copy (`nil`) or the files under `directory`.
  public init(directory: URL? = nil) {
    self.directory = directory
  }

  /// A file of the page, by its URL path (`/` is `index.html`), with its content type;
  /// `nil` when there is none (or the path leaves the directory).
  public func file(at urlPath: String) -> (bytes: [UInt8], contentType: String)? {
    var name = String(urlPath.drop(while: { $0 == "/" }))
    if name.isEmpty { name = "index.html" }
    let components = name.split(separator: "/", omittingEmptySubsequences: false)
    guard !components.contains(where: { $0.isEmpty || $0.hasPrefix(".") }) else { return nil }
    let bytes: [UInt8]
    if let directory {
      guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
        return nil
      }
      bytes = Array(data)
    } else {
      guard let builtIn = Self.builtIn[name] else { return nil }
      bytes = builtIn
    }
    return (bytes, Self.contentType(of: name))
  }

  /// The names of the built-in files.
  public static var builtInNames: [String] { builtIn.keys.sorted() }

  /// The built-in files, decoded once (on the first request), not at every one.
  private static let builtIn: [String: [UInt8]] = WebPageFiles.base64.compactMapValues {
    Data(base64Encoded: $0).map(Array.init)
  }

  static func contentType(of name: String) -> String {
    switch name.split(separator: ".").last.map({ $0.lowercased() }) {
    case "html": "text/html; charset=utf-8"
    case "js", "mjs": "text/javascript; charset=utf-8"
    case "css": "text/css; charset=utf-8"
    case "json": "application/json"
    case "svg": "image/svg+xml"
    case "png": "image/png"
    case "ico": "image/x-icon"
    case "txt", "md": "text/plain; charset=utf-8"
    default: "application/octet-stream"
    }
  }
}
