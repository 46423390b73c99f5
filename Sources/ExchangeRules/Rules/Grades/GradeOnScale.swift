import ExchangeCore

/// GRD-03: the grade is on a registered scale: a letter of the scale and/or a number inside its range,
/// and when both are given the number falls in the letter's band. A student's grade is student data: the
/// messages name the scale, never the grade.
public struct GradeOnScale: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .grd03 }
    public var types: Set<ExchangeType> { [.grades] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard record["action"] != "delete" else { return nil }
        let scaleCode = record["gradingScaleCode"]
        guard let scale = context.reference.gradingScales[scaleCode] else {
            return violation(
                "gradingScaleCode",
                "Grading scale \(scaleCode) is not registered. Use a registered scale (\(context.reference.gradingScales.keys.sorted().joined(separator: ", "))).")
        }
        let letter = record["letterGrade"]
        let numeric = record.number("numericGrade")
        if letter.isEmpty, numeric == nil {
            return violation("letterGrade", "Give a letterGrade, a numericGrade, or both.")
        }
        var letterBand: GradingScale.Band?
        if !letter.isEmpty {
            guard let band = scale.band(letter: letter) else {
                return violation(
                    "letterGrade",
                    "letterGrade is not a letter of scale \(scaleCode) (\(scale.bands.map(\.letter).joined(separator: ", "))).")
            }
            letterBand = band
        }
        if let numeric {
            guard let band = scale.band(numeric: numeric) else {
                let range = scale.numericRange.map { " (\(Self.text($0.lowerBound)) to \(Self.text($0.upperBound)))" } ?? ""
                return violation(
                    "numericGrade", "numericGrade is in no band of scale \(scaleCode)\(range).")
            }
            if let letterBand, letterBand.letter != band.letter, letterBand.range != nil {
                return violation(
                    "letterGrade",
                    "letterGrade does not match numericGrade: on scale \(scaleCode) the number falls in another letter's band.")
            }
        }
        return nil
    }

    static func text(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
}
