import Foundation

/// Checks and takes apart the URLs that completion callbacks are posted to.
public enum CallbackURL {
  /// Checks that `text` is an absolute `http://` or `https://` URL with a host.
  ///
  /// - Parameter field: The configuration field named in the error.
  /// - Throws: ``KilnError`` (invalid argument) naming `field` and the problem.
  public static func validate(_ text: String, field: String) throws(KilnError) {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
      throw .invalidArgument(field: field, "\(text) is not a URL")
    }
    guard scheme == "http" || scheme == "https" else {
      throw .invalidArgument(field: field, "\(text): only http:// and https:// URLs are supported")
    }
    guard let host = components.host, !host.isEmpty else {
      throw .invalidArgument(field: field, "\(text) has no host")
    }
    if let port = components.port, !(1...65535).contains(port) {
      throw .invalidArgument(field: field, "\(text): port \(port) is out of range")
    }
  }

  /// The origin of a URL, `scheme://host:port` in lower case with the default port
  /// filled in: deliveries to one origin share a concurrency limit, so that one
  /// receiver that never answers cannot hold every delivery slot.
  public static func origin(of text: String) -> String {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
      return text
    }
    let host = components.host?.lowercased() ?? ""
    let port = components.port ?? (scheme == "https" ? 443 : 80)
    return "\(scheme)://\(host):\(port)"
  }
}
