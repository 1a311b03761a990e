/*
 * send_sms.c: SMS over HTTP for the sender.  preset = twilio posts the
 * form To, From, Body to the Messages endpoint with basic auth; the
 * generic gateway fills {phone} {code} {text} {account} {from} into the
 * URL (URL-escaped) and the body (escaped for its Content-Type).  Success
 * is a 2xx status whose body contains success_match, when one is set.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sender.h"

#define URL_MAX		2048
#define FORM_MAX	8192

enum esc { ESC_NONE, ESC_URL, ESC_JSON };

static size_t
esc_one(enum esc e, unsigned char ch, char out[8])
{
	if (e == ESC_URL && !((ch >= 'A' && ch <= 'Z') ||
	    (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '.' || ch == '_' || ch == '~'))
		return (size_t)snprintf(out, 8, "%%%02X", ch);
	if (e == ESC_JSON && (ch == '"' || ch == '\\'))
		return (size_t)snprintf(out, 8, "\\%c", ch);
	if (e == ESC_JSON && ch < 0x20)
		return (size_t)snprintf(out, 8, "\\u%04x", ch);
	out[0] = (char)ch;
	return 1;
}

static int
append_esc(char *out, size_t sz, size_t *o, const char *v, enum esc e)
{
	char one[8];
	size_t n;

	for (; *v != '\0'; v++) {
		n = esc_one(e, (unsigned char)*v, one);
		if (n >= sz - *o)
			return -1;
		memcpy(out + *o, one, n);
		*o += n;
	}
	out[*o] = '\0';
	return 0;
}

static const char *
var(const struct config *c, const struct send_msg *m, const char *name,
    size_t n)
{
	if (n == 5 && strncmp(name, "phone", 5) == 0)
		return m->dest;
	if (n == 4 && strncmp(name, "code", 4) == 0)
		return m->code;
	if (n == 4 && strncmp(name, "text", 4) == 0)
		return m->body;
	if (n == 7 && strncmp(name, "account", 7) == 0)
		return c->sms_account;
	if (n == 4 && strncmp(name, "from", 4) == 0)
		return c->sms_from;
	return NULL;
}

/* Fills the placeholders of t, each value escaped by e. */
static int
fill(const struct config *c, const struct send_msg *m, const char *t,
    enum esc e, char *out, size_t sz)
{
	const char *end, *v;
	size_t o = 0;

	out[0] = '\0';
	while (*t != '\0') {
		v = NULL;
		if (*t == '{' && (end = strchr(t + 1, '}')) != NULL)
			v = var(c, m, t + 1, (size_t)(end - t - 1));
		if (v != NULL) {
			if (append_esc(out, sz, &o, v, e) != 0)
				return -1;
			t = end + 1;
			continue;
		}
		if (o + 1 >= sz)
			return -1;
		out[o++] = *t++;
		out[o] = '\0';
	}
	return 0;
}

/* How the body escapes values: by the Content-Type header, form default. */
static enum esc
body_escape(const char *headers)
{
	const char *p = headers;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, "Content-Type:", 13) == 0) {
			p += 13 + strspn(p + 13, " \t");
			if (strncasecmp(p, "application/json", 16) == 0)
				return ESC_JSON;
			if (strncasecmp(p, "application/x-www-form-urlencoded",
			    33) == 0)
				return ESC_URL;
			return ESC_NONE;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return ESC_URL;
}

static int
add_headers(struct job *j, const struct config *c, int form)
{
	char line[CFG_LINES];
	const char *p = c->sms_headers;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if ((j->list = curl_slist_append(j->list, line)) == NULL)
			return -1;
		p += n + (p[n] == '\n');
	}
	if (form && body_escape(c->sms_headers) == ESC_URL &&
	    strcasestr(c->sms_headers, "Content-Type:") == NULL &&
	    (j->list = curl_slist_append(j->list, "Content-Type: "
	    "application/x-www-form-urlencoded")) == NULL)
		return -1;
	return 0;
}

/* Basic auth from "user:secret", or a bearer token from "Bearer X". */
static int
add_auth(struct job *j, const struct config *c, struct outcome *o)
{
	char hdr[sizeof(j->secret) + 32];
	struct curl_slist *l;

	if (c->sms_auth[0] == '\0')
		return 0;
	if (read_secret_file(c->sms_auth, j->secret, sizeof(j->secret),
	    o) != 0)
		return -1;
	if (strncmp(j->secret, "Bearer ", 7) == 0) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", j->secret);
		l = curl_slist_append(j->list, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (l == NULL)
			return -1;
		j->list = l;
		return 0;
	}
	if (strchr(j->secret, ':') == NULL) {
		outcome_set(o, PWL_ST_NOT_PERMITTED, "%s must hold user:secret "
		    "or \"Bearer TOKEN\"", c->sms_auth);
		return -1;
	}
	curl_easy_setopt(j->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(j->h, CURLOPT_USERPWD, j->secret);
	return 0;
}

static int
build_body(struct job *j, const struct config *c, struct outcome *o)
{
	const char *t = c->sms_body_template;

	if ((j->data = malloc(FORM_MAX)) == NULL)
		return -1;
	if (c->sms_preset == SMS_PRESET_TWILIO && t[0] == '\0')
		t = "To={phone}&From={from}&Body={text}";
	if (fill(c, &j->m, t, c->sms_preset == SMS_PRESET_TWILIO ? ESC_URL :
	    body_escape(c->sms_headers), j->data, FORM_MAX) != 0) {
		outcome_set(o, PWL_ST_NOT_PERMITTED, "request body too long");
		return -1;
	}
	j->len = strlen(j->data);
	return 0;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb, room = sizeof(j->resp) - 1 - j->resplen;

	memcpy(j->resp + j->resplen, p, n < room ? n : room);
	j->resplen += n < room ? n : room;
	j->resp[j->resplen] = '\0';
	return n;
}

int
sms_setup(struct job *j, const struct config *c, struct outcome *o)
{
	char url[URL_MAX];
	const char *u = c->sms_url;
	int get = strcmp(c->sms_method, "GET") == 0;

	if (u[0] == '\0' && c->sms_preset == SMS_PRESET_TWILIO)
		u = TWILIO_URL;
	if (fill(c, &j->m, u, ESC_URL, url, sizeof(url)) != 0) {
		outcome_set(o, PWL_ST_NOT_PERMITTED, "url too long");
		return -1;
	}
	if ((!get && build_body(j, c, o) != 0) ||
	    add_headers(j, c, !get) != 0 || add_auth(j, c, o) != 0) {
		if (o->why[0] == '\0')
			outcome_set(o, PWL_ST_UNAVAILABLE, "out of memory");
		return -1;
	}
	curl_common(j, c, c->sms_ca_file);
	curl_easy_setopt(j->h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR,
	    strncmp(url, "http://", 7) == 0 ? "http" : "https");
#else
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS, strncmp(url, "http://",
	    7) == 0 ? (long)CURLPROTO_HTTP : (long)CURLPROTO_HTTPS);
#endif
	if (!get) {
		curl_easy_setopt(j->h, CURLOPT_POSTFIELDS, j->data);
		curl_easy_setopt(j->h, CURLOPT_POSTFIELDSIZE, (long)j->len);
		if (strcmp(c->sms_method, "PUT") == 0)
			curl_easy_setopt(j->h, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->list);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
	explicit_bzero(url, sizeof(url));
	return 0;
}

/*
 * 2xx (with success_match) is sent; 408, 429, 5xx and network trouble
 * are worth another try; other statuses will not change.  The reply body
 * may echo the code, so it never reaches a log.
 */
void
sms_outcome(struct job *j, const struct config *c, CURLcode rc,
    struct outcome *o)
{
	long code = 0;

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		outcome_set(o, rc == CURLE_URL_MALFORMAT ||
		    rc == CURLE_UNSUPPORTED_PROTOCOL ? PWL_ST_NOT_PERMITTED :
		    PWL_ST_UNAVAILABLE, "sms: %s", curl_easy_strerror(rc));
	else if (code >= 200 && code < 300 &&
	    (c->sms_success_match[0] == '\0' ||
	    strstr(j->resp, c->sms_success_match) != NULL))
		outcome_set(o, PWL_ST_OK, "sent");
	else if (code >= 200 && code < 300)
		outcome_set(o, PWL_ST_UNAVAILABLE, "sms: HTTP %ld without "
		    "success_match in the reply", code);
	else
		outcome_set(o, code == 408 || code == 429 || code >= 500 ?
		    PWL_ST_UNAVAILABLE : PWL_ST_NOT_PERMITTED,
		    "sms: gateway answered HTTP %ld", code);
	explicit_bzero(j->resp, sizeof(j->resp));
}
