/// A student at a technical center: the question "which enrollments does the exchange hold for them?".
public struct StudentAtCenter: Hashable, Sendable {
    /// The student's state ID.
    public var ssid: String
    /// The center.
    public var center: String

    /// Creates the pair.
    public init(ssid: String, center: String) {
        self.ssid = ssid
        self.center = center
    }
}

/// A center in a school year: the question "which waiver requests does it have?".
public struct CenterYear: Hashable, Sendable {
    /// The center.
    public var center: String
    /// The school year.
    public var schoolYear: Int

    /// Creates the pair.
    public init(center: String, schoolYear: Int) {
        self.center = center
        self.schoolYear = schoolYear
    }
}

/// Everything the rules may ask the ledger about a batch of records, gathered before they are judged, so
/// that a ledger answers a batch in a few queries instead of a few per record: each record's own key,
/// the enrollments of its student at the sender and at the center it names, and the waivers of both
/// for its year. Built from the records' descriptors; pure.
public struct HeldStateRequest: Sendable, Equatable {
    /// Natural keys to look up, by type.
    public var keys: [ExchangeType: Set<String>] = [:]
    /// Students whose enrollments at a center are needed.
    public var students: Set<StudentAtCenter> = []
    /// Centers and years whose waiver requests are needed.
    public var centerYears: Set<CenterYear> = []

    /// An empty request.
    public init() {}

    /// Whether nothing is asked.
    public var isEmpty: Bool { keys.values.allSatisfy(\.isEmpty) && students.isEmpty && centerYears.isEmpty }

    /// Adds the questions of `other`.
    public mutating func formUnion(_ other: HeldStateRequest) {
        for (type, asked) in other.keys { keys[type, default: []].formUnion(asked) }
        students.formUnion(other.students)
        centerYears.formUnion(other.centerYears)
    }

    /// Adds what judging `record`, sent by `sender`, may ask.
    public mutating func add(_ record: RecordFacts, sender: String) {
        guard let descriptor = record.type.descriptor else { return }
        let values = record.values
        keys[record.type, default: []].insert(descriptor.naturalKey(values))
        let centers = Set([sender, values[descriptor.centerField] ?? ""].filter { !$0.isEmpty })
        if let ssid = values["ssid"], !ssid.isEmpty {
            for center in centers { students.insert(StudentAtCenter(ssid: ssid, center: center)) }
        }
        if let year = values[descriptor.yearField].flatMap({ Int($0) }) {
            for center in centers { centerYears.insert(CenterYear(center: center, schoolYear: year)) }
        }
    }
}

/// The ledger's answers to a `HeldStateRequest`: every question asked has an entry (an empty list, or no
/// record, when the ledger holds nothing), so a missing entry means the question was not asked.
public struct HeldState: Sendable, Equatable {
    /// The held record under each key asked, by type (absent when the ledger holds none).
    public var records: [ExchangeType: [String: HeldRecord]] = [:]
    /// The keys asked, by type (so that "asked, and none held" differs from "not asked").
    public var askedKeys: [ExchangeType: Set<String>] = [:]
    /// Each student's enrollments at the center (deleted ones included), by natural key.
    public var enrollments: [StudentAtCenter: [HeldRecord]] = [:]
    /// Each center's waiver requests for the year, oldest first.
    public var waivers: [CenterYear: [WaiverRequest]] = [:]

    /// An empty answer.
    public init() {}

    /// The answer to `request` with nothing held: every question asked, every answer empty.
    public init(answering request: HeldStateRequest) {
        askedKeys = request.keys
        for student in request.students { enrollments[student] = [] }
        for centerYear in request.centerYears { waivers[centerYear] = [] }
    }
}
