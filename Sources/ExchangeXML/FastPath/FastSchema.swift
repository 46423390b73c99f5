import CLibXML2
import ExchangeCore

/// One exchange type's XSD, compiled for the fast path: the root element, the element sequences of its
/// complex types and the facets of its simple types. Built from the same XSD text libxml2 compiles, and
/// only from the constructs our generated schemas use (`tools/gen_schemas.py`): a schema with anything
/// else gets no fast path (`compile` returns nil) and is validated by libxml2 alone.
struct FastSchema: Sendable {
    /// An element declared in a sequence (or the root): its name and content.
    struct Element: Sendable {
        /// The local name, NUL-terminated for `strcmp` against the parser's names.
        var name: [CChar]
        /// The content: an index into `complexTypes`, or a simple type.
        var content: Content
        var minOccurs: Int
        /// `Int.max` for unbounded.
        var maxOccurs: Int
    }

    /// What an element holds.
    enum Content: Sendable {
        /// Child elements, as the complex type at this index of `complexTypes`.
        case elements(Int)
        /// Text of the simple type at this index of `simpleTypes`.
        case text(Int)
    }

    /// The root element.
    var root: Element
    /// Each complex type's sequence of child elements.
    var complexTypes: [[Element]]
    /// The simple types of the elements that hold text.
    var simpleTypes: [XSDSimpleType.Definition]

    private static let schemaNamespace = "http://www.w3.org/2001/XMLSchema"

    /// The fast-path form of `xsdText`, or nil when the schema uses a construct the fast path does not
    /// implement (then libxml2's validator does all the work).
    static func compile(xsdText: String) -> FastSchema? {
        _ = LibXML2Setup.once
        let document = xsdText.withCString { bytes in
            xmlReadMemory(bytes, Int32(xsdText.utf8.count), "schema.xsd", nil, Int32(XML_PARSE_NONET.rawValue))
        }
        guard let document else { return nil }
        defer { xmlFreeDoc(document) }
        guard let schema = xmlDocGetRootElement(document) else { return nil }
        var compiler = Compiler(targetNamespace: attribute(schema, "targetNamespace"))
        return compiler.compile(schema)
    }

    /// A compilation in progress: the named types found, and the complex types compiled so far.
    private struct Compiler {
        let targetNamespace: String?
        var complexNodes: [String: xmlNodePtr] = [:]
        var simpleNodes: [String: xmlNodePtr] = [:]
        var complexIndex: [String: Int] = [:]
        var complexTypes: [[Element]] = []
        var simpleTypes: [XSDSimpleType.Definition] = []

        init(targetNamespace: String?) {
            self.targetNamespace = targetNamespace
        }

        mutating func compile(_ schema: xmlNodePtr) -> FastSchema? {
            guard FastSchema.schemaLocalName(schema) == "schema", targetNamespace != nil,
                FastSchema.attribute(schema, "elementFormDefault") == "qualified"
            else { return nil }
            var rootNode: xmlNodePtr?
            for child in FastSchema.elementChildren(schema) {
                let name = FastSchema.attribute(child, "name")
                switch FastSchema.schemaLocalName(child) {
                case "annotation": continue
                case "element" where rootNode == nil: rootNode = child
                case "complexType" where name != nil: complexNodes[name!] = child
                case "simpleType" where name != nil: simpleNodes[name!] = child
                default: return nil
                }
            }
            guard let rootNode, let name = FastSchema.attribute(rootNode, "name") else { return nil }
            // The root: an anonymous complex type; identity constraints are checked outside the schema.
            var inline: xmlNodePtr?
            for child in FastSchema.elementChildren(rootNode) {
                switch FastSchema.schemaLocalName(child) {
                case "annotation", "unique": continue
                case "complexType" where inline == nil: inline = child
                default: return nil
                }
            }
            guard FastSchema.attributeNames(rootNode).subtracting(["name"]).isEmpty, let inline,
                let index = compileComplex(inline)
            else { return nil }
            return FastSchema(
                root: Element(name: Array(name.utf8CString), content: .elements(index), minOccurs: 1, maxOccurs: 1),
                complexTypes: complexTypes, simpleTypes: simpleTypes)
        }

        /// A complex type of one `xs:sequence` of element declarations, and nothing else.
        private mutating func compileComplex(_ node: xmlNodePtr) -> Int? {
            guard FastSchema.attributeNames(node).subtracting(["name"]).isEmpty else { return nil }
            var sequence: xmlNodePtr?
            for child in FastSchema.elementChildren(node) {
                switch FastSchema.schemaLocalName(child) {
                case "annotation": continue
                case "sequence" where sequence == nil: sequence = child
                default: return nil
                }
            }
            guard let sequence, FastSchema.attributeNames(sequence).isEmpty else { return nil }
            let index = complexTypes.count
            complexTypes.append([])
            var elements: [Element] = []
            for child in FastSchema.elementChildren(sequence) {
                guard FastSchema.schemaLocalName(child) == "element",
                    FastSchema.attributeNames(child).subtracting(["name", "type", "minOccurs", "maxOccurs"]).isEmpty,
                    FastSchema.elementChildren(child).allSatisfy({ FastSchema.schemaLocalName($0) == "annotation" }),
                    let name = FastSchema.attribute(child, "name"), let typeName = typeReference(child),
                    let occurs = FastSchema.occurs(child)
                else { return nil }
                let content: Content
                if let simple = simpleNodes[typeName] {
                    guard let type = compileSimple(simple) else { return nil }
                    simpleTypes.append(type)
                    content = .text(simpleTypes.count - 1)
                } else if let known = complexIndex[typeName] {
                    content = .elements(known)
                } else if let complex = complexNodes[typeName] {
                    complexIndex[typeName] = -1  // a type that contains itself is not ours
                    guard let compiled = compileComplex(complex) else { return nil }
                    complexIndex[typeName] = compiled
                    content = .elements(compiled)
                } else {
                    return nil
                }
                if case .elements(let target) = content, target < 0 { return nil }
                elements.append(
                    Element(name: Array(name.utf8CString), content: content, minOccurs: occurs.min, maxOccurs: occurs.max))
            }
            // Two neighbours of one name would make the sequence's matching ambiguous for the simple walk.
            for (left, right) in zip(elements, elements.dropFirst()) where left.name == right.name { return nil }
            complexTypes[index] = elements
            return index
        }

        /// The local name of a `type` attribute whose prefix is bound to the target namespace.
        private func typeReference(_ node: xmlNodePtr) -> String? {
            guard let qualified = FastSchema.attribute(node, "type") else { return nil }
            let parts = qualified.split(separator: ":", maxSplits: 1).map(String.init)
            let prefix = parts.count == 2 ? parts[0] : nil
            let namespace = prefix.map { xmlSearchNs(node.pointee.doc, node, $0) } ?? xmlSearchNs(node.pointee.doc, node, nil)
            guard let namespace, let href = namespace.pointee.href, String(cString: href) == targetNamespace else {
                return nil
            }
            return parts.last
        }

        /// An `xs:restriction` of a built-in type with the facets `XSDSimpleType` knows.
        private func compileSimple(_ node: xmlNodePtr) -> XSDSimpleType.Definition? {
            var restriction: xmlNodePtr?
            for child in FastSchema.elementChildren(node) {
                switch FastSchema.schemaLocalName(child) {
                case "annotation": continue
                case "restriction" where restriction == nil: restriction = child
                default: return nil
                }
            }
            guard let restriction, FastSchema.attributeNames(restriction) == ["base"],
                let baseName = FastSchema.attribute(restriction, "base"), let colon = baseName.firstIndex(of: ":")
            else { return nil }
            let prefix = String(baseName[..<colon])
            let namespace = xmlSearchNs(restriction.pointee.doc, restriction, prefix)
            guard let namespace, let href = namespace.pointee.href, String(cString: href) == FastSchema.schemaNamespace,
                let base = XSDSimpleType.Base(rawValue: String(baseName[baseName.index(after: colon)...]))
            else { return nil }
            var type = XSDSimpleType.Facets()
            let textual = base == .string
            let numeric = base == .integer || base == .decimal
            for facet in FastSchema.elementChildren(restriction) {
                let name = FastSchema.schemaLocalName(facet)
                if name == "annotation" { continue }
                guard FastSchema.attributeNames(facet) == ["value"], let value = FastSchema.attribute(facet, "value") else {
                    return nil
                }
                switch name {
                case "pattern":
                    guard FastSchema.isPlainPattern(value), (try? PatternMatcher(value)) != nil else { return nil }
                    type.patterns.append(value)
                case "enumeration" where textual: type.enumeration.append(Array(value.utf8))
                case "minLength" where textual: type.minLength = Int(value)
                case "maxLength" where textual: type.maxLength = Int(value)
                case "length" where textual:
                    type.minLength = Int(value)
                    type.maxLength = Int(value)
                case "minInclusive" where numeric:
                    guard let bound = DecimalText(value) else { return nil }
                    type.minInclusive = bound
                case "maxInclusive" where numeric:
                    guard let bound = DecimalText(value) else { return nil }
                    type.maxInclusive = bound
                default: return nil
                }
            }
            return XSDSimpleType.Definition(base: base, facets: type)
        }
    }

    /// Whether `pattern` uses only what `PatternMatcher` reads exactly as XSD does: literals, character
    /// classes of literals and ranges (negated or not, no subtraction), `\d` (ASCII digits, a subset of
    /// XSD's), escaped punctuation, groups, `|` and quantifiers. `.`, `\w`, `\s`, `\p{…}` and the like are
    /// left to libxml2.
    static func isPlainPattern(_ pattern: String) -> Bool {
        var inClass = false
        var escaped = false
        var previous: Character?
        for character in pattern {
            defer { previous = character }
            if escaped {
                escaped = false
                guard character == "d" || "\\.-+()[]{}|?*^".contains(character) else { return false }
                continue
            }
            switch character {
            case "\\": escaped = true
            case "[":
                if inClass, previous == "-" { return false }  // class subtraction
                inClass = true
            case "]": inClass = false
            case "." where !inClass, "$" where !inClass, "^" where !inClass: return false
            default: break
            }
        }
        return !escaped && !inClass
    }

    /// `minOccurs` and `maxOccurs` (default 1), if they are plain numbers or `unbounded`.
    fileprivate static func occurs(_ node: xmlNodePtr) -> (min: Int, max: Int)? {
        let minimum = attribute(node, "minOccurs").map { Int($0) } ?? 1
        let maximum = attribute(node, "maxOccurs").map { $0 == "unbounded" ? Int.max : Int($0) } ?? 1
        guard let minimum, let maximum, minimum >= 0, maximum >= max(minimum, 1) else { return nil }
        return (minimum, maximum)
    }

    fileprivate static func elementChildren(_ node: xmlNodePtr) -> [xmlNodePtr] {
        var result: [xmlNodePtr] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(current) }
            child = current.pointee.next
        }
        return result
    }

    /// The local name of an element in the XML Schema namespace; "" for any other element.
    fileprivate static func schemaLocalName(_ node: xmlNodePtr) -> String {
        guard let namespace = node.pointee.ns, let href = namespace.pointee.href,
            String(cString: href) == schemaNamespace, let name = node.pointee.name
        else { return "" }
        return String(cString: name)
    }

    fileprivate static func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
        guard let value = xmlGetNoNsProp(node, name) else { return nil }
        defer { ktsx_xml_free(value) }
        return String(cString: value)
    }

    /// The names of the element's attributes (namespace declarations are not attributes).
    fileprivate static func attributeNames(_ node: xmlNodePtr) -> Set<String> {
        var names: Set<String> = []
        var property = node.pointee.properties
        while let current = property {
            if let name = current.pointee.name { names.insert(current.pointee.ns == nil ? String(cString: name) : "{ns}") }
            property = current.pointee.next
        }
        return names
    }
}
