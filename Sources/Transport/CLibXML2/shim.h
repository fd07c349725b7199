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

static void kvitto_c14n_quiet(void *user, xmlErrorPtr error) { (void)user; (void)error; }

/// Canonicalizes `subset` of `doc`, streaming the output through `write(ctx, bytes, len)` (no
/// copy of the canonical form is kept). Returns 0, or -1 when canonicalization failed.
static inline int kvitto_c14n_stream(xmlDocPtr doc, kvitto_c14n_subset *subset, int mode,
                                     xmlChar **inclusiveNamespaces, int withComments,
                                     xmlOutputWriteCallback write, void *ctx) {
    // libxml2 reports c14n failures through its (per-thread) error handler, which by default
    // writes them to stderr: a peer could make the node print libxml2 text at will. The failure
    // is returned instead (the caller raises a typed error), so the report is dropped.
    xmlSetStructuredErrorFunc(NULL, kvitto_c14n_quiet);
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

// Limits enforced while libxml2 parses, from its SAX2 callbacks, so a hostile document is
// stopped when it crosses a limit rather than after the whole tree was built. The default SAX2
// handlers still build the tree; these wrap them and count. `exceeded` says which limit stopped
// the parser (1 depth, 2 nodes, 3 text).
typedef struct {
    long max_depth, max_nodes, max_text;
    long depth, nodes, text;
    int exceeded;
    startElementNsSAX2Func start;
    endElementNsSAX2Func end;
    charactersSAXFunc characters;
    charactersSAXFunc cdata;
    commentSAXFunc comment;
    processingInstructionSAXFunc pi;
} kvitto_parse_limits;

static void kvitto_limits_stop(xmlParserCtxtPtr ctxt, kvitto_parse_limits *l, int which) {
    if (l->exceeded == 0) l->exceeded = which;
    xmlStopParser(ctxt);
}

static void kvitto_limits_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
                                int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                                const xmlChar **attributes) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    if (l->exceeded) return;
    l->depth += 1;
    l->nodes += 1 + nb_attributes;
    l->text = 0;
    if (l->depth > l->max_depth) { kvitto_limits_stop(ctxt, l, 1); return; }
    if (l->nodes > l->max_nodes) { kvitto_limits_stop(ctxt, l, 2); return; }
    l->start(ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes, nb_defaulted, attributes);
}

static void kvitto_limits_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    if (l->exceeded) return;
    l->depth -= 1;
    l->text = 0;
    l->end(ctx, localname, prefix, URI);
}

static int kvitto_limits_text(xmlParserCtxtPtr ctxt, kvitto_parse_limits *l, int len, int new_node) {
    if (l->exceeded) return 0;
    if (new_node) { l->nodes += 1; l->text = 0; }
    l->text += len;
    if (l->text > l->max_text) { kvitto_limits_stop(ctxt, l, 3); return 0; }
    if (l->nodes > l->max_nodes) { kvitto_limits_stop(ctxt, l, 2); return 0; }
    return 1;
}

static void kvitto_limits_characters(void *ctx, const xmlChar *ch, int len) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    // Consecutive character callbacks extend one text node; a node starts after markup.
    if (kvitto_limits_text(ctxt, l, len, l->text == 0)) l->characters(ctx, ch, len);
}

static void kvitto_limits_cdata(void *ctx, const xmlChar *ch, int len) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    if (kvitto_limits_text(ctxt, l, len, l->text == 0)) l->cdata(ctx, ch, len);
}

static void kvitto_limits_comment(void *ctx, const xmlChar *value) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    long len = value ? (long)strlen((const char *)value) : 0;
    if (kvitto_limits_text(ctxt, l, (int)(len > 0x7fffffff ? 0x7fffffff : len), 1)) { l->text = 0; l->comment(ctx, value); }
}

static void kvitto_limits_pi(void *ctx, const xmlChar *target, const xmlChar *data) {
    xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr)ctx;
    kvitto_parse_limits *l = (kvitto_parse_limits *)ctxt->_private;
    if (kvitto_limits_text(ctxt, l, 0, 1)) { l->text = 0; l->pi(ctx, target, data); }
}

/// Installs the counting callbacks on `ctxt` (its own SAX handler copy), with `l` as state.
static inline void kvitto_limits_install(xmlParserCtxtPtr ctxt, kvitto_parse_limits *l) {
    xmlSAXHandlerPtr sax = ctxt->sax;
    l->start = sax->startElementNs;
    l->end = sax->endElementNs;
    l->characters = sax->characters;
    l->cdata = sax->cdataBlock;
    l->comment = sax->comment;
    l->pi = sax->processingInstruction;
    // Only callbacks that are set are wrapped (XML_PARSE_NOCDATA, for one, clears cdataBlock).
    if (l->start) sax->startElementNs = kvitto_limits_start;
    if (l->end) sax->endElementNs = kvitto_limits_end;
    if (l->characters) {
        sax->characters = kvitto_limits_characters;
        sax->ignorableWhitespace = kvitto_limits_characters;
    }
    if (l->cdata) sax->cdataBlock = kvitto_limits_cdata;
    if (l->comment) sax->comment = kvitto_limits_comment;
    if (l->pi) sax->processingInstruction = kvitto_limits_pi;
    ctxt->_private = l;
}

/// A push-free parser context reading through `read` with the counting callbacks installed (the
/// context is not reset before parsing, unlike xmlCtxtReadIO, so the state survives). Parse with
/// xmlParseDocument; the document is ctxt->myDoc; free with xmlFreeParserCtxt.
static inline xmlParserCtxtPtr kvitto_parser_create(xmlInputReadCallback read, void *ioctx, int options,
                                                    kvitto_parse_limits *l) {
    xmlParserCtxtPtr ctxt = xmlCreateIOParserCtxt(NULL, NULL, read, NULL, ioctx, XML_CHAR_ENCODING_UTF8);
    if (ctxt == NULL) return NULL;
    xmlCtxtUseOptions(ctxt, options);
    kvitto_limits_install(ctxt, l);
    return ctxt;
}

#endif
