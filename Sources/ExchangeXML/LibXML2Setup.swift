import CLibXML2

/// Process-wide libxml2 set-up, done once before any schema is compiled or document parsed.
///
/// Initialises the parser and the schema type tables (not thread-safe before libxml2 2.15), switches off
/// catalogs, and installs an external-entity loader that refuses everything: the bundled schemas are
/// compiled from memory and are self-contained, and an instance document never gets to load anything
/// beyond its own bytes (no DTD, no entity, no `xsi:schemaLocation`, no XInclude).
enum LibXML2Setup {
    /// Touch this before using libxml2; the initialiser runs exactly once, serialised by `swift_once`.
    static let once: Void = {
        xmlInitParser()
        xmlSchemaInitTypes()
        xmlCatalogSetDefaults(XML_CATA_ALLOW_NONE)
        xmlSetExternalEntityLoader { _, _, _ in nil }
    }()
}
