import CLibXML2
import ExchangeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fast path's walk through one document, driven by the same SAX events as the rest of the parse:
/// each element against its parent's sequence, each text against its simple type.
///
/// It never reports an error. It either vouches for the whole document (libxml2's validator would have
/// found nothing) or falls into doubt at the first event it cannot vouch for, and stays there: the
/// document is then validated again by libxml2, whose messages are the ones partners see. So the fast
/// path decides no verdict of an invalid file; it only spares a valid one libxml2's validator.
final class FastSchemaCheck {
    /// One element declaration, with the schema's indices flattened for the walk.
    private struct Slot {
        /// The local name, NUL-terminated (in `names`).
        var name: UnsafePointer<CChar>
        /// The parser's pointer for this name once it matched (its dictionary interns names).
        var interned: UnsafePointer<xmlChar>?
        var minOccurs: Int
        var maxOccurs: Int
        /// The sequence of a complex type's children (an index into `sequences`), or -1.
        var sequence: Int
        /// The simple type of a text-only element (an index into `simpleTypes`), or -1.
        var simpleType: Int
    }

    /// One open element: the sequence it walks (and the slot it stands at, matched `count` times), or the
    /// simple type of its text.
    private struct Frame {
        var sequence: Int
        var simpleType: Int
        var position: Int
        var count: Int
    }

    // Plain memory, not arrays: the walk runs for every element of a large file and must not retain.
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let sequences: UnsafeMutableBufferPointer<Range<Int>>
    private let names: UnsafeMutableBufferPointer<CChar>
    /// The simple types, compiled for this document, and read through `simpleTypes` without retaining.
    private let compiledTypes: [XSDSimpleType]
    private let simpleTypes: UnsafeMutableBufferPointer<Unmanaged<XSDSimpleType>>
    private let frames: UnsafeMutablePointer<Frame>
    private var depth = 0
    private let text: UnsafeMutablePointer<UInt8>
    private var textCount = 0
    /// The namespace URI as the parser last handed it (interned too).
    private var knownNamespace: UnsafePointer<xmlChar>?
    private let namespace = Array(ktsxNamespace.utf8CString)

    /// Whether some event could not be vouched for.
    private(set) var inDoubt = false

    /// The longest text vouched for; no field of ours allows more than 2,000 characters.
    static let maxTextBytes = 16 * 1024
    /// The deepest nesting vouched for; ours is three levels.
    static let maxDepth = 16

    init(schema: FastSchema) {
        var declared = [schema.root]
        var ranges: [Range<Int>] = []
        for sequence in schema.complexTypes {
            ranges.append(declared.count..<(declared.count + sequence.count))
            declared += sequence
        }
        names = .allocate(capacity: declared.reduce(0) { $0 + $1.name.count })
        slots = .allocate(capacity: declared.count)
        var offset = 0
        for (index, element) in declared.enumerated() {
            _ = UnsafeMutableBufferPointer(rebasing: names[offset..<(offset + element.name.count)]).initialize(from: element.name)
            var sequence = -1
            var simpleType = -1
            switch element.content {
            case .elements(let complex): sequence = complex
            case .text(let simple): simpleType = simple
            }
            slots.initializeElement(
                at: index,
                to: Slot(
                    name: UnsafePointer(names.baseAddress! + offset), interned: nil, minOccurs: element.minOccurs,
                    maxOccurs: element.maxOccurs, sequence: sequence, simpleType: simpleType))
            offset += element.name.count
        }
        sequences = .allocate(capacity: ranges.count)
        _ = sequences.initialize(from: ranges)
        let compiled = try? schema.simpleTypes.map(XSDSimpleType.init)
        compiledTypes = compiled ?? []
        simpleTypes = .allocate(capacity: compiledTypes.count)
        _ = simpleTypes.initialize(from: compiledTypes.map { Unmanaged.passUnretained($0) })
        frames = .allocate(capacity: FastSchemaCheck.maxDepth)
        text = .allocate(capacity: FastSchemaCheck.maxTextBytes)
        // A pattern that does not compile (it compiled when the schema was read) leaves it all to libxml2.
        if compiled == nil { inDoubt = true }
    }

    deinit {
        slots.deallocate()
        sequences.deallocate()
        names.deallocate()
        simpleTypes.deallocate()
        frames.deallocate()
        text.deallocate()
    }

    /// Gives up vouching for the document.
    func doubt() {
        inDoubt = true
    }

    /// An element starts.
    func start(_ name: UnsafePointer<xmlChar>, uri: UnsafePointer<xmlChar>?, attributes: Int) {
        guard !inDoubt else { return }
        guard attributes == 0, depth < FastSchemaCheck.maxDepth, isOurNamespace(uri) else { return doubt() }
        let slot: Int
        if depth == 0 {
            guard matches(name, slot: 0) else { return doubt() }
            slot = 0
        } else {
            guard let child = nextChild(named: name) else { return doubt() }
            slot = child
        }
        frames[depth] = Frame(sequence: slots[slot].sequence, simpleType: slots[slot].simpleType, position: 0, count: 0)
        depth += 1
        textCount = 0
    }

    /// The open element ends.
    func end() {
        guard !inDoubt, depth > 0 else { return }
        depth -= 1
        let frame = frames[depth]
        if frame.simpleType >= 0 {
            let value = UnsafeBufferPointer(start: text, count: textCount)
            if !simpleTypes[frame.simpleType]._withUnsafeGuaranteedRef({ $0.vouches(for: value) }) { doubt() }
            return
        }
        // Every element still expected after the last match is optional.
        let sequence = sequences[frame.sequence]
        var position = sequence.lowerBound + frame.position
        if position < sequence.upperBound {
            guard frame.count >= slots[position].minOccurs else { return doubt() }
            position += 1
        }
        while position < sequence.upperBound {
            if slots[position].minOccurs > 0 { return doubt() }
            position += 1
        }
    }

    /// Text (or a CDATA section, when `cdata`) inside the open element.
    func characters(_ bytes: UnsafePointer<xmlChar>, count: Int, cdata: Bool = false) {
        guard !inDoubt, depth > 0 else { return }
        if frames[depth - 1].simpleType >= 0 {
            guard textCount + count <= FastSchemaCheck.maxTextBytes else { return doubt() }
            (text + textCount).update(from: bytes, count: count)
            textCount += count
            return
        }
        // Between child elements only whitespace, and no CDATA section at all.
        guard !cdata else { return doubt() }
        for index in 0..<count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return doubt()
            }
        }
    }

    /// The slot the child `name` of the open element matches, moving along its sequence.
    private func nextChild(named name: UnsafePointer<xmlChar>) -> Int? {
        let frame = frames + (depth - 1)
        guard frame.pointee.sequence >= 0 else { return nil }  // an element inside text-only content
        let sequence = sequences[frame.pointee.sequence]
        // Before the first child, the first slot has matched 0 times.
        while sequence.lowerBound + frame.pointee.position < sequence.upperBound {
            let slot = sequence.lowerBound + frame.pointee.position
            if frame.pointee.count < slots[slot].maxOccurs, matches(name, slot: slot) {
                frame.pointee.count += 1
                return slot
            }
            if frame.pointee.count < slots[slot].minOccurs { return nil }
            frame.pointee.position += 1
            frame.pointee.count = 0
        }
        return nil
    }

    @inline(__always)
    private func matches(_ name: UnsafePointer<xmlChar>, slot: Int) -> Bool {
        if slots[slot].interned == name { return true }
        guard strcmp(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self), slots[slot].name) == 0 else { return false }
        slots[slot].interned = name
        return true
    }

    private func isOurNamespace(_ uri: UnsafePointer<xmlChar>?) -> Bool {
        guard let uri else { return false }
        if uri == knownNamespace { return true }
        let same = namespace.withUnsafeBufferPointer {
            strcmp(UnsafeRawPointer(uri).assumingMemoryBound(to: CChar.self), $0.baseAddress!) == 0
        }
        if same { knownNamespace = uri }
        return same
    }
}
