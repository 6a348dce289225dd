/* xml.c - the one way the toolkit reads XML (participant configurations,
 * Green Button payloads): libxml2 without network access and without DTDs.
 * A document that declares a DOCTYPE is refused before any entity in it is
 * declared, so no external entity is ever resolved and none can be expanded
 * (XXE, "billion laughs"). */
#define _POSIX_C_SOURCE 200809L
#include "meter_priv.h"

#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>

struct reader {
	const char *name;
	struct mt_err *err;
	int failed;
};

static void xml_error(void *ctx, const xmlError *e)
{
	struct reader *rd = ctx;
	char msg[300];
	size_t n;

	if (rd->failed++ || e == NULL)
		return;
	snprintf(msg, sizeof msg, "%s", e->message ? e->message : "XML error");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	mt_err_set(rd->err, rd->name, e->line, "malformed XML: %s", msg);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxtPtr p = ctx;
	struct reader *rd = p->_private;

	(void)name, (void)ext, (void)sys;
	if (!rd->failed++)
		mt_err_set(rd->err, rd->name, xmlSAX2GetLineNumber(ctx),
		    "DOCTYPE declarations are not allowed");
	xmlStopParser(p);
}

xmlDocPtr mt_xml_read(const char *name, const char *buf, size_t n,
    struct mt_err *err)
{
	struct reader rd = { name, err, 0 };
	xmlParserCtxtPtr p = xmlNewParserCtxt();
	const int flags = XML_PARSE_NONET | XML_PARSE_NOCDATA;
	xmlDoc *doc;

	if (p == NULL) {
		mt_err_set(err, name, 0, "out of memory");
		return NULL;
	}
	p->_private = &rd;
	p->sax->internalSubset = on_doctype;
	xmlSetStructuredErrorFunc(&rd, (xmlStructuredErrorFunc)xml_error);
	if (buf == NULL)
		doc = xmlCtxtReadFile(p, name, NULL, flags);
	else if (n > (size_t)0x7fffffff) {
		mt_err_set(err, name, 0, "XML document too large");
		rd.failed = 1;
		doc = NULL;
	} else
		doc = xmlCtxtReadMemory(p, buf, (int)n, name, NULL, flags);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlFreeParserCtxt(p);
	if (doc == NULL || rd.failed || xmlDocGetRootElement(doc) == NULL) {
		if (!rd.failed)
			mt_err_set(err, name, 0, doc ? "empty XML document" :
			    "malformed XML");
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}
