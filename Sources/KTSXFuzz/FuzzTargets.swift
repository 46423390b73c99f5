import ExchangeCore
import ExchangeRules
import ExchangeValidation

/// What the fuzzer drives: the XML path, the CSV path and the loading of reference data, each a function
/// of arbitrary bytes that must return (any verdict) and never crash, hang or touch memory it should not.
enum FuzzTarget: String, CaseIterable {
    /// The bytes as an XML file (sniffing skipped), in chunks whose size the first byte chooses.
    case xml
    /// The bytes as a CSV file (sniffing skipped), in chunks whose size the first byte chooses.
    case csv
    /// The bytes as one of the reference files (the first byte chooses which), against a fixed set of
    /// participants; or as `participants.csv` itself.
    case reference

    /// The schemas, compiled once per process.
    static let validator: FileValidator = {
        do { return try FileValidator(issueLimit: 200) } catch { fatalError("bundled schemas do not compile: \(error)") }
    }()

    static let participants = [
        Participant(orgId: "061014", name: "Ridgeline ATC", classification: .c2),
        Participant(orgId: "165901", name: "Bluegrass CTC", classification: .a2),
        Participant(orgId: "061010", name: "Ridgeline High", classification: .a1, unknownSync: true),
    ]

    /// Runs the target on `data`; returns a short verdict (for the corpus replay).
    func run(_ data: UnsafeRawBufferPointer) -> String {
        switch self {
        case .xml, .csv:
            // Chunk sizes down to 1 byte and up to the production 256 KiB: boundaries are where parsers break.
            // The CSV reader scans a record that a chunk cut short again from its start with the next chunk
            // (bounded in production: 256 KiB reads, records of 1 MiB at most); at a few bytes per chunk a
            // long record costs quadratic time, so CSV chunks start at 64 bytes.
            let sizes = self == .xml ? [1, 2, 3, 7, 64, 1000, 4096, FileValidator.chunkSize] : [64, 65, 100, 127, 1000, 4096, 65_536, FileValidator.chunkSize]
            let chunk = data.isEmpty ? FileValidator.chunkSize : sizes[Int(data[0]) % sizes.count]
            let report = FuzzTarget.validator.validate(
                bytes: data, displayName: "fuzz", binding: self == .xml ? .xml : .csv, chunkSize: chunk)
            return "\(report.type?.code ?? "-") records=\(report.recordCount) errors=\(report.errorCount)"
        case .reference:
            guard let selector = data.first else { return "empty" }
            let files = ["participants.csv"] + ReferenceDataParser.files
            let name = files[Int(selector) % files.count]
            let content = Array(data.dropFirst())
            do {
                if name == "participants.csv" {
                    return "\(name): \(try ConfigurationParser.participants(from: content).count) participants"
                }
                let reference = try ReferenceDataParser.parse(participants: FuzzTarget.participants, files: [name: content])
                return "\(name): accepted (\(reference.catalog.count) sections)"
            } catch {
                return "\(name): \(error.errors.count) problems"
            }
        }
    }
}
