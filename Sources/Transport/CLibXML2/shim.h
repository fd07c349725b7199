#ifndef KVITTO_CLIBXML2_SHIM_H
#define KVITTO_CLIBXML2_SHIM_H
// libxml2 from Debian's libxml2-dev. The Transport module's XML/LibXML folder is the only Swift
// code that touches these functions; the helpers below exist because they need C-level access
// (struct punning between xmlNs and xmlNode, macros, variadic-free callbacks).
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU; its headers would then pull in the system ICU headers, which
// clash with the ICU that Foundation bundles. Nothing here uses the ICU members
// (xmlCharEncodingHandler is only handled by pointer), so the ICU part is left out.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/c14n.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>
#include <string.h>

static inline void kvitto_xml_free(void *p) { xmlFree(p); }

/// The node subset a canonicalization covers: the subtree under `include` (NULL = the whole
/// document) minus the subtree under `exclude` (NULL = nothing), the enveloped-signature transform.
typedef struct {
    xmlNodePtr include;
    xmlNodePtr exclude;
} kvitto_c14n_subset;

static int kvitto_c14n_visible(void *user, xmlNodePtr node, xmlNodePtr parent) {
    kvitto_c14n_subset *s = (kvitto_c14n_subset *)user;
    // xmlNs and xmlNode share the position of `type`; namespace and attribute nodes are judged by
    // the element that carries them.
    xmlNodePtr n = node;
    if (node == NULL || node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE) n = parent;
    int inside = (s->include == NULL);
    for (xmlNodePtr p = n; p != NULL; p = p->parent) {
        if (s->exclude != NULL && p == s->exclude) return 0;
        if (p == s->include) inside = 1;
    }
    return inside;
}

/// Canonicalizes `subset` of `doc`, streaming the output through `write(ctx, bytes, len)` (no
/// copy of the canonical form is kept). Returns 0, or -1 when canonicalization failed.
static inline int kvitto_c14n_stream(xmlDocPtr doc, kvitto_c14n_subset *subset, int mode,
                                     xmlChar **inclusiveNamespaces, int withComments,
                                     xmlOutputWriteCallback write, void *ctx) {
    xmlOutputBufferPtr buf = xmlOutputBufferCreateIO(write, NULL, ctx, NULL);
    if (buf == NULL) return -1;
    int rc = xmlC14NExecute(doc, kvitto_c14n_visible, subset, mode, inclusiveNamespaces, withComments, buf);
    int closed = xmlOutputBufferClose(buf);
    return (rc < 0 || closed < 0) ? -1 : 0;
}

/// Collected XSD validation errors are passed through this callback (set from Swift).
typedef void (*kvitto_schema_error_sink)(void *ctx, int line, const char *message, xmlNodePtr node);

typedef struct {
    kvitto_schema_error_sink sink;
    void *ctx;
} kvitto_schema_errors;

static void kvitto_schema_structured_error(void *user, xmlErrorPtr error) {
    kvitto_schema_errors *e = (kvitto_schema_errors *)user;
    if (e == NULL || e->sink == NULL || error == NULL) return;
    e->sink(e->ctx, error->line, error->message, (xmlNodePtr)error->node);
}

static inline void kvitto_schema_collect(xmlSchemaValidCtxtPtr v, kvitto_schema_errors *e) {
    xmlSchemaSetValidStructuredErrors(v, kvitto_schema_structured_error, e);
}

static void kvitto_ignore_structured_error(void *user, xmlErrorPtr error) { (void)user; (void)error; }

static inline void kvitto_schema_parser_quiet(xmlSchemaParserCtxtPtr p) {
    xmlSchemaSetParserStructuredErrors(p, kvitto_ignore_structured_error, NULL);
}

static inline xmlNodePtr kvitto_node_children(xmlNodePtr n) { return n->children; }

#endif
