import PostgresNIO

/// Assembles one statement's text from parts while binding its values as `$1`, `$2`, …, so that parts
/// written apart (a receipt's row, a table's rows as unnested arrays) can run as one statement, which
/// PostgresNIO's interpolated queries cannot be joined into.
struct StatementBinder {
    private(set) var bindings = PostgresBindings()

    /// Binds `value` and returns its placeholder.
    mutating func callAsFunction<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        bindings.append(value)
        return "$\(bindings.count)"
    }

    /// Binds `value` (NULL when nil) and returns its placeholder.
    mutating func callAsFunction<Value: PostgresDynamicTypeEncodable>(_ value: Value?) -> String {
        bindings.append(value)
        return "$\(bindings.count)"
    }

    /// The statement `sql` with the values bound so far. Assemble `sql` first (`let sql = "…\(bind(x))…"`),
    /// then call this: in `bind.query("…\(bind(x))…")` the receiver is read before its argument binds.
    func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
