/// This process held the lease of a receipt or job run too long without renewing it (it stalled), and
/// another instance took the work over: this one stops working on it.
public struct LeaseLost: Error, CustomStringConvertible {
    /// The work, e.g. "receipt R…".
    public var what: String
    /// A one-line description.
    public var description: String { "the lease of \(what) was taken over by another instance; it finishes the work" }
}
