/// KDE school classifications the exchange deals with (the KDE SDCI codes).
public enum Classification: String, Sendable, CaseIterable, Codable {
    /// A school; home high schools are A1.
    case a1 = "A1"
    /// A district-operated career and technical education center (CTC).
    case a2 = "A2"
    /// Other A-series classifications.
    case a3 = "A3", a4 = "A4", a5 = "A5", a6 = "A6", a7 = "A7", a8 = "A8"
    /// B-series.
    case b1 = "B1", b2 = "B2"
    /// A college- or university-operated CTE school.
    case c1 = "C1"
    /// A state-operated area technology center (ATC).
    case c2 = "C2"
    /// Other classifications.
    case d1 = "D1", f1 = "F1", f2 = "F2", f3 = "F3", j1 = "J1", m1 = "M1", m2 = "M2", r1 = "R1"

    /// Whether this is a technical center (CTC or ATC).
    public var isTechnicalCenter: Bool { self == .a2 || self == .c2 }
}

/// Which binding a participant wants the files written for it.
public enum OutputFormat: String, Sendable, CaseIterable, Codable {
    /// The binding of the file that caused the output (acknowledgements), XML for the rest.
    case same
    /// Always XML.
    case xml
    /// Always CSV.
    case csv
}

/// A school or technical center that exchanges files, as configured in `participants.csv`.
public struct Participant: Sendable, Equatable, Codable {
    /// Six-digit district + school number (DDDSSS); the name of its folder in the drop tree.
    public var orgId: String
    /// The organisation's name.
    public var name: String
    /// KDE classification.
    public var classification: Classification
    /// IANA time zone: Kentucky spans Eastern and Central time.
    public var timeZone: String
    /// The binding it wants outputs in.
    public var outputFormat: OutputFormat
    /// Whether a file is ready only once `NAME.done` appears beside it (instead of after a quiet period).
    public var usesDoneMarker: Bool
    /// A high school that opted into the nightly unknown-attendance sync.
    public var unknownSync: Bool

    /// Creates a participant.
    public init(
        orgId: String, name: String, classification: Classification, timeZone: String = "America/New_York",
        outputFormat: OutputFormat = .same, usesDoneMarker: Bool = false,
        unknownSync: Bool = false
    ) {
        self.unknownSync = unknownSync
        self.orgId = orgId
        self.name = name
        self.classification = classification
        self.timeZone = timeZone
        self.outputFormat = outputFormat
        self.usesDoneMarker = usesDoneMarker
    }
}
