/*
 * send_mail.c: email for the sender.  Builds the RFC 5322 message itself
 * (Date, From, To, Subject as RFC 2047 UTF-8 when needed, Message-ID,
 * MIME text/plain UTF-8, CRLF lines) and submits it with libcurl over
 * smtps:// or smtp:// with STARTTLS required unless [email] starttls = no.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sender.h"

#define B64_LINE	76

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct out {
	char	*p;
	size_t	 cap;
	size_t	 len;
	int	 err;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->err || n > o->cap - o->len) {
		o->err = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_b64(struct out *o, const unsigned char *s, size_t n, int wrap)
{
	char q[4];
	size_t i, col = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		put(o, q, 4);
		if (wrap && (col += 4) >= B64_LINE && i + 3 < n) {
			put(o, "\r\n", 2);
			col = 0;
		}
	}
}

static int
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * A header value: as is when ASCII, else RFC 2047 encoded words of at
 * most 45 input bytes each, split between UTF-8 characters, folded.
 */
static void
put_words(struct out *o, const char *s)
{
	size_t n = strlen(s), k;

	if (ascii(s)) {
		put(o, s, n);
		return;
	}
	while (n > 0) {
		k = n < 45 ? n : 45;
		while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		puts_(o, "=?UTF-8?B?");
		put_b64(o, (const unsigned char *)s, k, 0);
		puts_(o, "?=");
		s += k;
		n -= k;
		if (n > 0)
			puts_(o, "\r\n ");
	}
}

static void
put_from(struct out *o, const struct config *c)
{
	const char *p;

	puts_(o, "From: ");
	if (c->email_from_name[0] != '\0' && ascii(c->email_from_name)) {
		puts_(o, "\"");
		for (p = c->email_from_name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				put(o, "\\", 1);
			put(o, p, 1);
		}
		puts_(o, "\" ");
	} else if (c->email_from_name[0] != '\0') {
		put_words(o, c->email_from_name);
		puts_(o, " ");
	}
	puts_(o, "<");
	puts_(o, c->email_from);
	puts_(o, ">\r\n");
}

static void
put_headers(struct out *o, const struct config *c, const struct send_msg *m,
    int base64)
{
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	puts_(o, "Date: ");
	puts_(o, date);
	puts_(o, "\r\n");
	put_from(o, c);
	puts_(o, "To: <");
	puts_(o, m->dest);
	puts_(o, ">\r\nSubject: ");
	put_words(o, m->subject);
	puts_(o, "\r\nMessage-ID: <");
	puts_(o, m->msgid);
	puts_(o, ">\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: ");
	puts_(o, base64 ? "base64" : "7bit");
	puts_(o, "\r\nAuto-Submitted: auto-generated\r\n"
	    "X-Auto-Response-Suppress: All\r\n\r\n");
}

/* The whole message, CRLF line ends, in a new buffer (caller wipes). */
int
mail_compose(const struct config *c, const struct send_msg *m, char **out,
    size_t *len)
{
	struct out o;
	const char *p;
	int base64 = !ascii(m->body);

	*out = NULL;
	*len = 0;
	o.cap = 4096 + 3 * strlen(m->body);
	o.len = 0;
	o.err = 0;
	if ((o.p = malloc(o.cap)) == NULL)
		return -1;
	put_headers(&o, c, m, base64);
	if (base64)
		put_b64(&o, (const unsigned char *)m->body, strlen(m->body), 1);
	else
		for (p = m->body; *p != '\0'; p++)
			put(&o, *p == '\n' ? "\r\n" : p, *p == '\n' ? 2 : 1);
	if (o.len < 2 || memcmp(o.p + o.len - 2, "\r\n", 2) != 0)
		put(&o, "\r\n", 2);
	if (o.err) {
		explicit_bzero(o.p, o.cap);
		free(o.p);
		return -1;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;

	if (n > j->len - j->off)
		n = j->len - j->off;
	memcpy(buf, j->data + j->off, n);
	j->off += n;
	return n;
}

int
mail_setup(struct job *j, const struct config *c, struct outcome *o)
{
	char addr[CFG_STR + 3];
	CURL *h = j->h;
	int smtps = strncmp(c->email_url, "smtps://", 8) == 0;

	if (mail_compose(c, &j->m, &j->data, &j->len) != 0) {
		outcome_set(o, PWL_ST_NOT_PERMITTED, "message too large");
		return -1;
	}
	snprintf(addr, sizeof(addr), "<%s>", j->m.dest);
	if ((j->list = curl_slist_append(NULL, addr)) == NULL) {
		outcome_set(o, PWL_ST_UNAVAILABLE, "out of memory");
		return -1;
	}
	if (c->email_username[0] != '\0' &&
	    read_secret_file(c->email_password_file, j->secret,
	    sizeof(j->secret), o) != 0)
		return -1;
	curl_common(j, c, c->email_ca_file);
	curl_easy_setopt(h, CURLOPT_URL, c->email_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(h, CURLOPT_USE_SSL, smtps || c->email_starttls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	snprintf(addr, sizeof(addr), "<%s>", c->email_from);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, j->list);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, j);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
	if (c->email_username[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_USERNAME, c->email_username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, j->secret);
	}
	return 0;
}

/* 5xx replies and refused logins will not get better by retrying. */
void
mail_outcome(struct job *j, CURLcode rc, struct outcome *o)
{
	long code = 0;

	if (rc == CURLE_OK) {
		outcome_set(o, PWL_ST_OK, "sent");
		return;
	}
	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
	outcome_set(o, (code >= 500 && code < 600) ||
	    rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
	    rc == CURLE_UNSUPPORTED_PROTOCOL ? PWL_ST_NOT_PERMITTED :
	    PWL_ST_UNAVAILABLE, "smtp: %s%s%s (last reply %ld)",
	    curl_easy_strerror(rc), j->errbuf[0] != '\0' ? ": " : "",
	    j->errbuf, code);
}
