/// Remembers byte-string keys and the row (or record) each was last seen on, for `unique` and primary-key checks,
/// in little memory: keys lie end to end in one arena and the open-addressing table holds only hashes,
/// offsets and rows. Comparisons are exact (a hash match is confirmed against the stored bytes).
public struct SeenKeys: Sendable {
    private struct Slot {
        var hash: UInt64 = 0  // 0 marks an empty slot
        var offset = 0
        var length: Int32 = 0
        var row: Int32 = 0
    }

    private var arena: [UInt8] = []
    private var slots = [Slot](repeating: Slot(), count: 1024)
    private var count = 0

    /// An empty set.
    public init() {}

    /// Records `key` as seen on `row`; returns the row it was seen on before, if any (frictionless
    /// reports the most recent earlier row).
    public mutating func insert(_ key: UnsafeRawBufferPointer, row: Int) -> Int? {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let hash = SeenKeys.hash(key)
        var index = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while slots[index].hash != 0 {
            if slots[index].hash == hash, matches(slots[index], key) {
                let previous = Int(slots[index].row)
                slots[index].row = Int32(truncatingIfNeeded: row)
                return previous
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = Slot(hash: hash, offset: arena.count, length: Int32(key.count), row: Int32(truncatingIfNeeded: row))
        arena.append(contentsOf: key)
        count += 1
        return nil
    }

    private func matches(_ slot: Slot, _ key: UnsafeRawBufferPointer) -> Bool {
        guard Int(slot.length) == key.count else { return false }
        return arena.withUnsafeBytes { stored in
            let bytes = UnsafeRawBufferPointer(rebasing: stored[slot.offset..<(slot.offset + key.count)])
            return key.isEmpty || memoryEqual(bytes, key)
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        for slot in old where slot.hash != 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & (slots.count - 1)
            while slots[index].hash != 0 { index = (index + 1) & (slots.count - 1) }
            slots[index] = slot
        }
    }

    /// A 64-bit hash of `bytes`, never 0.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var index = 0
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            index += 8
        }
        while index < bytes.count {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0100_0000_01B3
            index += 1
        }
        hash ^= hash >> 29
        hash = hash &* 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 32
        return hash == 0 ? 1 : hash
    }
}

/// Whether two byte ranges hold the same bytes.
func memoryEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var index = 0
    while index + 8 <= a.count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
            return false
        }
        index += 8
    }
    while index < a.count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}
