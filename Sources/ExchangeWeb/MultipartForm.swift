import Foundation

/// The parts of a `multipart/form-data` body (RFC 7578), as a browser sends a form with a file: each
/// part's field name, file name (for a file) and bytes. Pure; a body that does not follow the form
/// (no boundary, a part without a name, no closing delimiter) is nil rather than guessed at.
struct MultipartForm: Equatable {
    /// One part of the form.
    struct Part: Equatable {
        /// The form field's name.
        var name: String
        /// The name of the file the browser sent, for a file field (its last path component only).
        var fileName: String?
        /// The part's bytes.
        var bytes: ArraySlice<UInt8>
    }

    /// The parts, in the order sent.
    var parts: [Part]

    /// Parts a form may have; more is not a form of this site.
    static let maxParts = 16

    /// The boundary of a `multipart/form-data` content type, if it is one: 1 to 70 characters.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let kind = pieces.first, kind.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "="), piece[..<equals].lowercased() == "boundary" else { continue }
            var value = String(piece[piece.index(after: equals)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// The value of the text field `name`, if sent.
    func value(_ name: String) -> String? {
        parts.first { $0.name == name && $0.fileName == nil }.map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// The file sent in field `name`, if one was chosen.
    func file(_ name: String) -> Part? {
        parts.first { $0.name == name && $0.fileName != nil }
    }

    /// Splits `body` at `boundary`.
    init?(body: [UInt8], boundary: String) {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = [13, 10] + delimiter
        // The first delimiter opens the body (a preamble before it is ignored, as RFC 2046 says).
        guard var position = MultipartForm.find(delimiter, in: body, from: 0) else { return nil }
        position += delimiter.count
        var parts: [Part] = []
        while true {
            // After a delimiter: `--` ends the body, a line break starts a part.
            if MultipartForm.starts(body, at: position, with: [45, 45]) { break }
            guard MultipartForm.starts(body, at: position, with: [13, 10]), parts.count < MultipartForm.maxParts else { return nil }
            let headersStart = position + 2
            guard let headersEnd = MultipartForm.find([13, 10, 13, 10], in: body, from: headersStart - 2) else { return nil }
            let headerText = String(decoding: body[headersStart..<max(headersStart, headersEnd)], as: UTF8.self)
            guard let (name, fileName) = MultipartForm.disposition(headerText) else { return nil }
            let contentStart = headersEnd + 4
            guard let contentEnd = MultipartForm.find(separator, in: body, from: contentStart) else { return nil }
            parts.append(Part(name: name, fileName: fileName, bytes: body[contentStart..<contentEnd]))
            position = contentEnd + separator.count
        }
        self.parts = parts
    }

    /// The field name and file name of a part's `Content-Disposition: form-data` header.
    static func disposition(_ headers: String) -> (name: String, fileName: String?)? {
        for line in headers.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-disposition" else { continue }
            var name: String?
            var fileName: String?
            for parameter in MultipartForm.parameters(String(line[line.index(after: colon)...])) {
                switch parameter.key.lowercased() {
                case "name": name = parameter.value
                case "filename":
                    // Only the last component: a browser may send a path, and the name is only ever shown.
                    fileName = String(parameter.value.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
                default: break
                }
            }
            guard let name, !name.isEmpty else { return nil }
            return (name, fileName)
        }
        return nil
    }

    /// The `key=value` and `key="value"` parameters after `form-data;` (a quoted value may hold `;`).
    static func parameters(_ text: String) -> [(key: String, value: String)] {
        var result: [(String, String)] = []
        var rest = Substring(text)
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].split(separator: ";").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                // Browsers write a quote in a name as %22 and never escape with a backslash (which a Windows
                // path holds): the value ends at the next quote.
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...].dropFirst()
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            result.append((key, value))
        }
        return result
    }

    /// Whether `bytes` holds `prefix` at `position`.
    static func starts(_ bytes: [UInt8], at position: Int, with prefix: [UInt8]) -> Bool {
        position >= 0 && position + prefix.count <= bytes.count && bytes[position..<(position + prefix.count)].elementsEqual(prefix)
    }

    /// Where `pattern` first occurs in `bytes` at or after `start`.
    static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard let first = pattern.first, pattern.count <= bytes.count else { return nil }
        var index = max(0, start)
        let last = bytes.count - pattern.count
        while index <= last {
            guard let found = bytes[index...last].firstIndex(of: first) else { return nil }
            if starts(bytes, at: found, with: pattern) { return found }
            index = found + 1
        }
        return nil
    }
}
