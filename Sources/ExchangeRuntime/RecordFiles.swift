import ExchangeCore
import ExchangeSchemas

/// Renders held records as files for a recipient, in the binding it chose, with the field order of the
/// bundled schemas (so each file is valid against its schema).
enum RecordFiles {
    /// Field names of a type, in schema order.
    static func fields(of type: ExchangeType) -> [String] {
        SchemaCatalog.tableSchemas[type]?.fields.map(\.name) ?? []
    }

    /// Each field's type across the partner types, to put captured values in canonical form.
    static let partnerFieldTypes: [String: TableSchema.FieldType] = {
        var types: [String: TableSchema.FieldType] = [:]
        for type in ExchangeType.partnerTypes {
            for field in SchemaCatalog.tableSchemas[type]?.fields ?? [] { types[field.name] = field.type }
        }
        return types
    }()

    /// Every field of every partner type (what validation captures for the rules).
    static let partnerFieldNames = Set(partnerFieldTypes.keys)

    /// The binding of a file a participant receives from others (routed records, nightly files, decisions,
    /// summaries): its choice; `same` means XML for these (DESIGN section 2: only the answer to a file follows
    /// the binding it was sent in).
    static func binding(for participant: Participant?) -> Binding {
        participant?.outputFormat == .csv ? .csv : .xml
    }

    /// A file of `type` with one row per value map.
    static func render(
        _ type: ExchangeType, rows: [[String: String]], header: (senderOrgId: String, schoolYear: Int, created: Timestamp)? = nil,
        binding: Binding
    ) -> [UInt8] {
        let names = fields(of: type)
        return AcknowledgementRenderer.render(
            type: type, fields: names, header: header, records: rows.map { row in names.map { row[$0] } }, binding: binding)
    }

    /// The recommended name of a file the exchange writes: `KTSX_<TYPE>_<orgId>_<yyyymmddThhmmss>_<tag>.<ext>`.
    static func name(_ type: ExchangeType, orgId: String, time: Timestamp, tag: String, binding: Binding) -> String {
        "KTSX_\(type.code)_\(orgId)_\(time.compact)_\(tag).\(binding.fileExtension)"
    }
}

