/*
 * output.c: how pwless prints what pwlessd answers: local times, aligned
 * tables of list replies, and JSON with a small string escaper.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pwless.h"

void
cli_fmt_time(uint64_t t, const char *zero, char *out, size_t sz)
{
	struct tm tm;
	time_t tt;

	if (t == 0) {
		snprintf(out, sz, "%s", zero);
		return;
	}
	if (t > (uint64_t)INT64_MAX / 2) {
		snprintf(out, sz, "?");
		return;
	}
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, sz, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, sz, "?");
}

int
cli_item(const struct pwl_msg *m, int i, struct pwl_msg *out)
{
	size_t k;

	out->n = 0;
	for (k = 0; k < m->n; k++) {
		if (m->tlv[k].tag != PWL_T_ITEM)
			continue;
		if (i-- > 0)
			continue;
		if (pwl_msg_parse(m->tlv[k].val, m->tlv[k].len, 0, out) != 0)
			return -1;
		return 0;
	}
	return -1;
}

int
cli_items_count(const struct pwl_msg *m)
{
	struct pwl_msg it;
	size_t k;
	int n = 0;

	for (k = 0; k < m->n; k++) {
		if (m->tlv[k].tag != PWL_T_ITEM)
			continue;
		if (pwl_msg_parse(m->tlv[k].val, m->tlv[k].len, 0, &it) != 0)
			return -1;
		n++;
	}
	return n;
}

const char *
cli_str(const struct pwl_msg *m, uint16_t tag, char *out, size_t sz)
{
	if (pwl_msg_str(m, tag, out, sz) != 0 && sz > 0)
		out[0] = '\0';
	return out;
}

uint64_t
cli_u64(const struct pwl_msg *m, uint16_t tag)
{
	uint64_t v;

	return pwl_msg_u64(m, tag, &v) == 0 ? v : 0;
}

uint32_t
cli_u32(const struct pwl_msg *m, uint16_t tag)
{
	uint32_t v;

	return pwl_msg_u32(m, tag, &v) == 0 ? v : 0;
}

/* Columns a string takes on a terminal: one per UTF-8 code point. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
print_row(FILE *f, const char *const *cell, const size_t *width,
    size_t ncol)
{
	size_t i, w;

	for (i = 0; i < ncol; i++) {
		fputs(cell[i], f);
		if (i + 1 == ncol)
			break;
		for (w = text_width(cell[i]); w < width[i] + 2; w++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

/*
 * Two passes over the ITEMs: the first sizes the columns, the second
 * prints.  The caller checked the items with cli_items_count.
 */
void
cli_table(FILE *f, const struct pwl_msg *m, const char *const *head,
    size_t ncol, void (*fill)(const struct pwl_msg *, cli_row))
{
	cli_table_page(f, m, head, ncol, fill, 1);
}

/* One page of a longer table: the header only on the first page. */
void
cli_table_page(FILE *f, const struct pwl_msg *m, const char *const *head,
    size_t ncol, void (*fill)(const struct pwl_msg *, cli_row), int first)
{
	const char *cell[CLI_COLS_MAX];
	size_t width[CLI_COLS_MAX], i, w;
	struct pwl_msg it;
	cli_row row;
	int n;

	if (ncol > CLI_COLS_MAX)
		ncol = CLI_COLS_MAX;
	for (i = 0; i < ncol; i++) {
		width[i] = text_width(head[i]);
		cell[i] = row[i];
	}
	for (n = 0; cli_item(m, n, &it) == 0; n++) {
		fill(&it, row);
		for (i = 0; i < ncol; i++)
			if ((w = text_width(row[i])) > width[i])
				width[i] = w;
	}
	if (first)
		print_row(f, head, width, ncol);
	for (n = 0; cli_item(m, n, &it) == 0; n++) {
		fill(&it, row);
		print_row(f, cell, width, ncol);
	}
}

/*
 * A JSON string: quotes, backslash and control bytes escaped, the rest
 * copied (the codec has checked that strings are UTF-8).  NULL is null.
 */
void
cli_json_str(FILE *f, const char *s)
{
	unsigned char c;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void
cli_json_begin(struct cli_json *j, FILE *f)
{
	j->f = f;
	j->n = 0;
	fputc('{', f);
}

void
cli_json_end(struct cli_json *j)
{
	fputc('}', j->f);
}

static void
json_name(struct cli_json *j, const char *name)
{
	if (j->n++ > 0)
		fputs(", ", j->f);
	cli_json_str(j->f, name);
	fputs(": ", j->f);
}

void
cli_jstr(struct cli_json *j, const char *name, const char *val)
{
	json_name(j, name);
	cli_json_str(j->f, val);
}

void
cli_jtag(struct cli_json *j, const char *name, const struct pwl_msg *m,
    uint16_t tag)
{
	char buf[PWL_STR_MAX + 1];

	if (pwl_msg_str(m, tag, buf, sizeof(buf)) != 0)
		cli_jstr(j, name, NULL);
	else
		cli_jstr(j, name, buf);
}

void
cli_ju64(struct cli_json *j, const char *name, uint64_t v)
{
	json_name(j, name);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void
cli_jbool(struct cli_json *j, const char *name, int v)
{
	json_name(j, name);
	fputs(v ? "true" : "false", j->f);
}

/* An array with one object per line; "[]" when there are no ITEMs. */
void
cli_json_list(FILE *f, const struct pwl_msg *m,
    void (*obj)(struct cli_json *, const struct pwl_msg *))
{
	int count = 0;

	fputc('[', f);
	cli_json_items(f, m, obj, &count);
	fputs(count == 0 ? "]\n" : "\n]\n", f);
}

/* The ITEMs of one page as array elements; *count runs across pages. */
void
cli_json_items(FILE *f, const struct pwl_msg *m,
    void (*obj)(struct cli_json *, const struct pwl_msg *), int *count)
{
	struct cli_json j;
	struct pwl_msg it;
	int n;

	for (n = 0; cli_item(m, n, &it) == 0; n++) {
		fputs((*count)++ == 0 ? "\n  " : ",\n  ", f);
		cli_json_begin(&j, f);
		obj(&j, &it);
		cli_json_end(&j);
	}
}
