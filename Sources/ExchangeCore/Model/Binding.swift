/// How a file is written: XML validated by an XSD, or CSV validated by a Table Schema.
public enum Binding: String, Sendable, Codable, CaseIterable {
    /// XML in the `urn:ky:kde:ktsx:1.0` namespace.
    case xml = "XML"
    /// Comma-separated values with a header row.
    case csv = "CSV"

    /// The file-name extension of the binding.
    public var fileExtension: String { self == .xml ? "xml" : "csv" }
}
