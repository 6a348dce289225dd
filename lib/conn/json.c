/* jsonconn.c - the json connector: a JSON API body (yajl's tree), an array
 * of readings found by a dotted path (items="data.readings"; none: the
 * body is the array), one reading per element with its time, value and
 * optional unit found by dotted paths inside the element. */
#define _GNU_SOURCE   /* memmem */
#include "../meter_priv.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define DEPTH_MAX 16

/* Follow a dotted path; NULL when any step is missing. */
static yajl_val walk(yajl_val v, const char *path)
{
	const char *parts[DEPTH_MAX + 1];
	char buf[256];
	size_t n = 0;

	if (path == NULL || *path == '\0')
		return v;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf, *dot; p != NULL && n < DEPTH_MAX; p = dot) {
		dot = strchr(p, '.');
		if (dot != NULL)
			*dot++ = '\0';
		parts[n++] = p;
	}
	parts[n] = NULL;
	return yajl_tree_get(v, parts, yajl_t_any);
}

static void gen_value(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
	else if (YAJL_IS_NUMBER(v))
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
	else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		yajl_gen_bool(g, YAJL_IS_TRUE(v));
	else if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];
			yajl_gen_string(g, (const unsigned char *)k, strlen(k));
			gen_value(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			gen_value(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
	} else
		yajl_gen_null(g);
}

/* Text of a scalar: strings as they are, numbers as written; NULL else. */
static const char *scalar(yajl_val v, int *missing)
{
	*missing = v == NULL || YAJL_IS_NULL(v);
	if (YAJL_IS_STRING(v))
		return v->u.string;
	if (YAJL_IS_NUMBER(v))
		return v->u.number.r;
	return NULL;
}

static void item(const struct mt_conn *c, struct mt_emit *e, yajl_val el,
    long index)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *text;
	size_t len;
	struct mt_row row;
	const char *ts, *value, *unit = NULL;
	const char *vpath = c->value ? c->value : "value";
	int ts_missing, value_missing, unit_missing;
	yajl_val v = walk(el, vpath);
	char why[160];

	gen_value(g, el);
	yajl_gen_get_buf(g, &text, &len);
	row = (struct mt_row){ index, (const char *)text, len };
	ts = scalar(walk(el, c->ts ? c->ts : "ts"), &ts_missing);
	value = scalar(v, &value_missing);
	if (c->unit_field != NULL)
		unit = scalar(walk(el, c->unit_field), &unit_missing);
	if (!YAJL_IS_OBJECT(el))
		snprintf(why, sizeof why, "element %ld is not an object", index);
	else if (ts == NULL)
		snprintf(why, sizeof why, "element %ld has no time \"%s\"", index,
		    c->ts ? c->ts : "ts");
	else if (v == NULL)
		/* null is a meter's "no reading" and is skipped; no such field
		 * at all is more likely a wrong path */
		snprintf(why, sizeof why, "element %ld has no value \"%s\" (give "
		    "its path with value=\"...\")", index, vpath);
	else if (value == NULL && !value_missing)
		snprintf(why, sizeof why, "element %ld: \"%s\" is not a number", index,
		    vpath);
	else
		why[0] = '\0';
	if (why[0] != '\0') {
		e->rejected++;
		mt_reject(e->rj, e->source, index, row.text, row.len, why);
	} else {
		mt_emit_text(c, e, &row, ts, strlen(ts), value ? value : "",
		    value ? strlen(value) : 0, unit);
	}
	yajl_gen_free(g);
}

/* yajl's tree is built and freed recursively: refuse deep nesting first. */
static int too_deep(const char *s, size_t n)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < n; i++) {
		/* yajl_tree_parse allows comments: a quote inside one must not
		 * make the rest look like a string */
		if (!in_string && s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			const char *end = memmem(s + i + 2, n - i - 2, "*/", 2);
			i = end ? (size_t)(end - s) + 1 : n;
			continue;
		}
		if (!in_string && s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
			const char *nl = memchr(s + i, '\n', n - i);
			i = nl ? (size_t)(nl - s) : n;
			continue;
		}
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '[' || s[i] == '{') {
			if (++depth > 64)
				return 1;
		} else if (s[i] == ']' || s[i] == '}') {
			depth--;
		}
	}
	return 0;
}

/* The body's tree, or NULL with err. */
static yajl_val parse_tree(const struct mt_emit *e, const char *body, size_t n,
    struct mt_err *err)
{
	char *text, msg[256];
	yajl_val root;

	if (too_deep(body, n)) {
		mt_err_set(err, e->source, 0, "JSON nested more than 64 deep");
		err->status = MT_EXIT_REJECTS;
		return NULL;
	}
	text = mt_xstrndup(body, n);
	root = yajl_tree_parse(text, msg, sizeof msg);
	free(text);
	if (root == NULL) {
		char *nl = strchr(msg, '\n');
		if (nl != NULL)
			*nl = '\0';
		mt_err_set(err, e->source, 0, "malformed JSON: %s", msg);
		err->status = MT_EXIT_REJECTS;
	}
	return root;
}

int mt_parse_json_message(const struct mt_conn *c, struct mt_emit *e,
    const char *body, size_t n, struct mt_err *err)
{
	yajl_val root = parse_tree(e, body, n, err);

	if (root == NULL)
		return -1;
	if (YAJL_IS_ARRAY(root))
		for (size_t i = 0; i < root->u.array.len; i++)
			item(c, e, root->u.array.values[i], (long)i + 1);
	else
		item(c, e, root, 1);
	yajl_tree_free(root);
	return 0;
}

int mt_parse_json(const struct mt_conn *c, struct mt_emit *e, const char *body,
    size_t n, struct mt_err *err)
{
	yajl_val root, arr;

	if ((root = parse_tree(e, body, n, err)) == NULL)
		return -1;
	arr = walk(root, c->items);
	if (!YAJL_IS_ARRAY(arr)) {
		mt_err_set(err, e->source, 0, "no array of readings at \"%s\"",
		    c->items ? c->items : "(the top level)");
		err->status = MT_EXIT_REJECTS;
		yajl_tree_free(root);
		return -1;
	}
	for (size_t i = 0; i < arr->u.array.len; i++)
		item(c, e, arr->u.array.values[i], (long)i + 1);
	yajl_tree_free(root);
	return 0;
}
