import ExchangeCore
import ExchangeRules
import Testing

/// The pure conservation check: planted faults in the ledger's facts are each named.
@Suite("Conservation check: each accepted record at exactly its receivers, once")
struct ConservationCheckTests {
    static func record(_ id: String, _ type: ExchangeType, to receiver: String, receipt: String = "R1", key: String? = nil, deleted: Bool = false)
        -> AcceptedRecord
    {
        AcceptedRecord(
            reference: RecordReference(receiptId: receipt, recordId: id), type: type, naturalKey: key ?? id, recipientOrgId: receiver,
            deleted: deleted)
    }

    static func entry(_ id: String, by source: String, to receiver: String, receipt: String = "R1", file: String = "f.xml") -> TrailEntry {
        TrailEntry(sourceId: source, recipientOrgId: receiver, fileName: file, record: RecordReference(receiptId: receipt, recordId: id))
    }

    /// Two schools' attendance routed by R1, a grade posted by P1, an absence synced by S1.
    static let accepted = [
        record("a1", .attendance, to: "061010"), record("a2", .attendance, to: "061020"), record("e1", .enrollment, to: "061014"),
        record("g1", .grades, to: "061010", key: "G"),
    ]
    static let trail = [
        entry("a1", by: "R1", to: "061010"), entry("a2", by: "R1", to: "061020"), entry("e1", by: "R1", to: "061014"),
        entry("g1", by: "P1", to: "061010"), entry("a1", by: "S1", to: "061010", file: "sync.xml"),
    ]
    static let carriers: [String: ConservationCheck.Carrier] = ["P1": .gradePosting, "S1": .unknownSync]

    func kinds(accepted: [AcceptedRecord] = accepted, trail: [TrailEntry] = trail, waiting: Set<RecordReference> = [])
        -> [ConservationDiscrepancy.Kind]
    {
        ConservationCheck(accepted: accepted, trail: trail, carriers: Self.carriers, waitingForPosting: waiting).discrepancies().map(\.kind)
    }

    @Test("every record where it belongs, once: it holds")
    func holds() {
        #expect(kinds().isEmpty)
    }

    @Test("a receiver's routed file missing from the trail: not delivered, naming the record and the receiver")
    func lost() {
        let found = ConservationCheck(
            accepted: Self.accepted, trail: Self.trail.filter { $0.recipientOrgId != "061020" }, carriers: Self.carriers, waitingForPosting: []
        ).discrepancies()
        #expect(found.map(\.kind) == [.notDelivered])
        #expect(found.first?.recordId == "a2" && found.first?.receiverOrgId == "061020" && found.first?.sourceId == "R1")
    }

    @Test("a record routed twice, or to another school, or a refused record routed, is named")
    func doubledMisroutedRefused() {
        #expect(kinds(trail: Self.trail + [Self.entry("a1", by: "R1", to: "061010", file: "g.xml")]) == [.deliveredTwice])
        #expect(kinds(trail: Self.trail + [Self.entry("a1", by: "R1", to: "061020")]) == [.wrongReceiver])
        #expect(kinds(trail: Self.trail + [Self.entry("x9", by: "R1", to: "061010")]) == [.notAccepted])
        #expect(kinds(trail: Self.trail + [Self.entry("a2", by: "S1", to: "061010", file: "sync.xml")]) == [.wrongReceiver])
        #expect(kinds(trail: Self.trail + [Self.entry("g1", by: "P2", to: "061010")]) == [.wrongReceiver])
    }

    @Test("a grade: posted once; replaced before its posting, waiting, or a delete of a grade never posted is fine; otherwise lost")
    func grades() {
        let newer = Self.record("g2", .grades, to: "061010", receipt: "R2", key: "G")
        // g1 replaced by g2 before any posting; g2 waits for the next one.
        let replaced = Self.trail.filter { $0.record.recordId != "g1" }
        #expect(kinds(accepted: Self.accepted + [newer], trail: replaced, waiting: [newer.reference]).isEmpty)
        // g2 neither posted nor waiting: lost.
        #expect(kinds(accepted: Self.accepted + [newer], trail: replaced) == [.notDelivered])
        // Posted twice.
        #expect(kinds(trail: Self.trail + [Self.entry("g1", by: "P1", to: "061010", file: "other.xml")]) == [.deliveredTwice])
        // A delete of a grade the school never had is not posted.
        let neverPosted = Self.record("g3", .grades, to: "061010", receipt: "R3", key: "H", deleted: true)
        #expect(kinds(accepted: Self.accepted + [neverPosted]).isEmpty)
        // A delete of a posted grade must be posted.
        let deletesPosted = Self.record("g4", .grades, to: "061010", receipt: "R4", key: "G", deleted: true)
        #expect(kinds(accepted: Self.accepted + [deletesPosted]) == [.notDelivered])
    }
}
