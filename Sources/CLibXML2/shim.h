#ifndef KTSX_CLIBXML2_SHIM_H
#define KTSX_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU, and encoding.h then includes ICU headers that clash with the copy
   Foundation ships. Nothing here touches the ICU members of xmlCharEncodingHandler, so hide them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlschemastypes.h>
#include <libxml/xmlIO.h>
#include <libxml/catalog.h>

/* Macros and version-dependent accessors are not importable into Swift; these wrap them so the same
   Swift code compiles against libxml2 2.9 and 2.12+. */

/** The libxml2 version the process runs with, e.g. "20914". */
static inline const char *ktsx_xml_runtime_version(void) { return xmlParserVersion; }

/** The line the push parser has reached (the end of the current start tag on 2.9). */
static inline int ktsx_xml_current_line(xmlParserCtxtPtr ctxt) {
    return (ctxt != NULL && ctxt->input != NULL) ? ctxt->input->line : 0;
}

/** The name of the document being parsed (owned by the parser). */
static inline const char *ktsx_xml_current_file(xmlParserCtxtPtr ctxt) {
    return (ctxt != NULL && ctxt->input != NULL) ? ctxt->input->filename : NULL;
}

/** The column the push parser has reached. */
static inline int ktsx_xml_current_column(xmlParserCtxtPtr ctxt) {
    return (ctxt != NULL && ctxt->input != NULL) ? ctxt->input->col : 0;
}

/** Depth of the element stack. */
static inline int ktsx_xml_depth(xmlParserCtxtPtr ctxt) { return ctxt != NULL ? ctxt->nameNr : 0; }

/** Whether the parser has stopped delivering events (a fatal error or xmlStopParser). */
static inline int ktsx_xml_is_stopped(xmlParserCtxtPtr ctxt) {
    return ctxt == NULL || ctxt->disableSAX != 0 || ctxt->instate == XML_PARSER_EOF;
}

/** Whether the document was well-formed so far. */
static inline int ktsx_xml_well_formed(xmlParserCtxtPtr ctxt) { return ctxt != NULL && ctxt->wellFormed != 0; }

/** The user pointer stored on a parser context. */
static inline void *ktsx_xml_private(xmlParserCtxtPtr ctxt) { return ctxt != NULL ? ctxt->_private : NULL; }
static inline void ktsx_xml_set_private(xmlParserCtxtPtr ctxt, void *p) { if (ctxt != NULL) ctxt->_private = p; }

/** The thread's structured error handler and its context, saved so that a parse can restore them. */
static inline xmlStructuredErrorFunc ktsx_xml_saved_error_func(void) { return xmlStructuredError; }
static inline void *ktsx_xml_saved_error_context(void) { return xmlStructuredErrorContext; }

/** xmlFree is a global function pointer, which Swift 6 will not read without isolation. */
static inline void ktsx_xml_free(void *pointer) { xmlFree(pointer); }

#endif
