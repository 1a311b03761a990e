/*
 * log.c: stderr or syslog, key=value events (log.h).  Values come from the
 * codec's printable checks, but are quoted and escaped here again so a log
 * line can never be forged by a field.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int log_fg;	/* log to stderr */
static int log_dbg;	/* LOG_DEBUG lines wanted */
static int log_hush;	/* drop NOTICE and below: a flood's repeats */

void
log_init(int foreground, int debug)
{
	log_fg = foreground;
	log_dbg = debug;
	if (!foreground)
		openlog("pwlessd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

int
log_debug_enabled(void)
{
	return log_dbg;
}

void
log_quiet(int on)
{
	log_hush = on;
}

static void
emit(int prio, const char *line)
{
	if ((prio == LOG_DEBUG && !log_dbg) || (log_hush && prio >= LOG_NOTICE))
		return;
	if (log_fg) {
		fprintf(stderr, "pwlessd: %s\n", line);
		fflush(stderr);
	} else
		syslog(prio, "%s", line);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(prio, line);
}

static size_t
append(char *out, size_t sz, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (off + 1 >= sz)
		return off;
	if (n > sz - off - 1)
		n = sz - off - 1;
	memcpy(out + off, s, n);
	out[off + n] = '\0';
	return off + n;
}

static size_t
append_char(char *out, size_t sz, size_t off, char c)
{
	if (off + 1 >= sz)
		return off;
	out[off++] = c;
	out[off] = '\0';
	return off;
}

/* Plain bytes are copied; only quotes, backslashes and controls escaped. */
static size_t
append_value(char *out, size_t sz, size_t off, const char *v)
{
	char one[5];
	int quote = v[strcspn(v, " \"=\\")] != '\0';
	const unsigned char *p;

	if (quote)
		off = append(out, sz, off, "\"");
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			snprintf(one, sizeof(one), "\\%c", *p);
			off = append(out, sz, off, one);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(one, sizeof(one), "\\x%02x", *p);
			off = append(out, sz, off, one);
		} else
			off = append_char(out, sz, off, (char)*p);
	}
	if (quote)
		off = append(out, sz, off, "\"");
	return off;
}

void
log_event(int prio, const char *event, ...)
{
	char line[1024];
	const char *k, *v;
	size_t off = 0;
	va_list ap;

	line[0] = '\0';
	off = append(line, sizeof(line), off, "event=");
	off = append_value(line, sizeof(line), off, event);
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL || *v == '\0')
			continue;
		off = append(line, sizeof(line), off, " ");
		off = append(line, sizeof(line), off, k);
		off = append(line, sizeof(line), off, "=");
		off = append_value(line, sizeof(line), off, v);
	}
	va_end(ap);
	emit(prio, line);
}

/* Appends " k=v" with v quoted as in log lines; out stays terminated. */
size_t
log_kv_append(char *out, size_t sz, size_t off, const char *k, const char *v)
{
	if (v == NULL || *v == '\0')
		return off;
	if (off > 0)
		off = append(out, sz, off, " ");
	off = append(out, sz, off, k);
	off = append(out, sz, off, "=");
	return append_value(out, sz, off, v);
}

/* Formats an event from n name/value pairs kv[2i], kv[2i + 1] into out. */
size_t
log_event_format(char *out, size_t sz, const char *event,
    const char *const *kv, size_t n)
{
	size_t i, off;

	out[0] = '\0';
	off = append(out, sz, 0, "event=");
	off = append_value(out, sz, off, event);
	for (i = 0; i < n; i++)
		off = log_kv_append(out, sz, off, kv[2 * i], kv[2 * i + 1]);
	return off;
}

/* A line made by log_event_format (and maybe more log_kv_append). */
void
log_line(int prio, const char *line)
{
	emit(prio, line);
}
