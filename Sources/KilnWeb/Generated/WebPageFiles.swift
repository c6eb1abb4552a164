// DO NOT EDIT.
// swift-format-ignore-file
//
// Written by dev/generate-web-page.sh from Sources/KilnWeb/Page: the job monitor page's
// files, base64-encoded, so that kilnd serves the page with no file beside it.

/// The built-in page files by path, base64-encoded.
enum WebPageFiles {
  static let base64: [String: String] = [
    "index.html": "PCFkb2N0eXBlIGh0bWw+CjxodG1sIGxhbmc9ImVuIj48aGVhZD48bWV0YSBjaGFyc2V0PSJ1dGYtOCI+PHRpdGxlPktpbG4gam9iIG1vbml0b3I8L3RpdGxlPjwvaGVhZD4KPGJvZHk+PGgxPktpbG4gam9iIG1vbml0b3I8L2gxPjxwPlRoZSBwYWdlIGlzIGJlaW5nIGJ1aWx0LjwvcD48L2JvZHk+PC9odG1sPgo=",
  ]
}
