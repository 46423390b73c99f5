import ExchangeCore

/// What the rules may ask about records accepted before: the roster, attendance and grades held by
/// natural key, and the waiver register. The ledger answers in the service; `InMemoryHeldRecords` in
/// tests; `FileOverlay` adds the records accepted earlier in the same file.
public protocol HeldRecords: Sendable {
    /// The record held under `key` for `type`, deleted or not.
    func record(_ type: ExchangeType, key: String) -> HeldRecord?
    /// The enrollments (deleted ones included) of a student at a center.
    func enrollments(ssid: String, center: String) -> [HeldRecord]
    /// The waiver requests of a center for a school year, oldest first.
    func waivers(center: String, schoolYear: Int) -> [WaiverRequest]
}

extension HeldRecords {
    /// Whether an approved waiver exempts `center` from the exchange in `schoolYear`.
    public func isWaived(center: String, schoolYear: Int) -> Bool {
        waivers(center: center, schoolYear: schoolYear).contains { $0.status == .approved }
    }
}

/// Held records in memory, for tests and for the overlay of one file.
public struct InMemoryHeldRecords: HeldRecords {
    /// Records by type and natural key.
    public var records: [ExchangeType: [String: HeldRecord]] = [:]
    /// Waiver requests.
    public var waiverRequests: [WaiverRequest] = []

    /// An empty store.
    public init() {}

    /// Holds `record`, replacing the version with its key.
    public mutating func hold(_ record: HeldRecord) { records[record.type, default: [:]][record.naturalKey] = record }

    public func record(_ type: ExchangeType, key: String) -> HeldRecord? { records[type]?[key] }

    public func enrollments(ssid: String, center: String) -> [HeldRecord] {
        (records[.enrollment] ?? [:]).values.filter { $0["ssid"] == ssid && $0["techCenterOrgId"] == center }
            .sorted { $0.naturalKey < $1.naturalKey }
    }

    public func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        waiverRequests.filter { $0.centerOrgId == center && $0.schoolYear == schoolYear }
    }
}

/// The held records as they stand while a file is judged: what was held before the file, overlaid
/// with what earlier records of the same file changed (so an `add` then an `update` of one key in one
/// file work, and two adds of one key do not). A class, so that the rules' context and the applier share
/// one copy; it is used by one file's judgement at a time.
public final class FileOverlay: HeldRecords, @unchecked Sendable {
    /// What was held before the file.
    public let base: any HeldRecords
    /// What this file changed so far.
    public var changes = InMemoryHeldRecords()

    /// An overlay over `base`.
    public init(base: any HeldRecords) {
        self.base = base
    }

    public func record(_ type: ExchangeType, key: String) -> HeldRecord? {
        changes.record(type, key: key) ?? base.record(type, key: key)
    }

    public func enrollments(ssid: String, center: String) -> [HeldRecord] {
        let changed = changes.enrollments(ssid: ssid, center: center)
        let keys = Set(changed.map(\.naturalKey))
        return base.enrollments(ssid: ssid, center: center).filter { !keys.contains($0.naturalKey) } + changed
    }

    public func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        let changed = changes.waivers(center: center, schoolYear: schoolYear)
        let ids = Set(changed.map(\.id))
        return base.waivers(center: center, schoolYear: schoolYear).filter { !ids.contains($0.id) } + changed
    }
}
