/*
 * proto.c: frame header and TLV codec of the pwless protocol (proto.h).
 * Linked into the PAM module, so it uses libc only and never allocates:
 * the writer fills a caller's buffer, the parser returns views into one.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pwless/proto.h"

static const struct pwl_tag_info tags[] = {
	{ PWL_T_USER,		PWL_K_PRINT,	PWL_USER_MAX,	"user" },
	{ PWL_T_SERVICE,	PWL_K_PRINT,	PWL_SERVICE_MAX, "service" },
	{ PWL_T_RHOST,		PWL_K_PRINT,	PWL_RHOST_MAX,	"rhost" },
	{ PWL_T_TTY,		PWL_K_PRINT,	PWL_TTY_MAX,	"tty" },
	{ PWL_T_RUSER,		PWL_K_PRINT,	PWL_USER_MAX,	"ruser" },
	{ PWL_T_KEY,		PWL_K_SECRET,	PWL_SECRET_MAX,	"key" },
	{ PWL_T_CODE,		PWL_K_SECRET,	PWL_CODE_MAX,	"code" },
	{ PWL_T_TOKEN,		PWL_K_SECRET,	PWL_SECRET_MAX,	"token" },
	{ PWL_T_KEY_ID,		PWL_K_PRINT,	PWL_KEYID_MAX,	"key_id" },
	{ PWL_T_LABEL,		PWL_K_PRINT,	PWL_LABEL_MAX,	"label" },
	{ PWL_T_SERVICES,	PWL_K_PRINT,	PWL_STR_MAX,	"services" },
	{ PWL_T_LIFETIME,	PWL_K_U64,	8,		"lifetime" },
	{ PWL_T_GRACE,		PWL_K_U64,	8,		"grace" },
	{ PWL_T_CREATED,	PWL_K_U64,	8,		"created" },
	{ PWL_T_EXPIRES,	PWL_K_U64,	8,		"expires" },
	{ PWL_T_LAST_USED,	PWL_K_U64,	8,		"last_used" },
	{ PWL_T_LAST_SERVICE,	PWL_K_PRINT,	PWL_SERVICE_MAX, "last_service" },
	{ PWL_T_LAST_RHOST,	PWL_K_PRINT,	PWL_RHOST_MAX,	"last_rhost" },
	{ PWL_T_STATE,		PWL_K_PRINT,	16,		"state" },
	{ PWL_T_ITEM,		PWL_K_NEST,	PWL_RESP_MAX,	"item" },
	{ PWL_T_EMAIL,		PWL_K_PRINT,	PWL_EMAIL_MAX,	"email" },
	{ PWL_T_PHONE,		PWL_K_PRINT,	PWL_PHONE_MAX,	"phone" },
	{ PWL_T_DISABLED,	PWL_K_U8,	1,		"disabled" },
	{ PWL_T_CHANNEL,	PWL_K_U8,	1,		"channel" },
	{ PWL_T_CHALLENGE,	PWL_K_PRINT,	PWL_CHALLENGE_MAX, "challenge" },
	{ PWL_T_MASKED,		PWL_K_PRINT,	PWL_EMAIL_MAX,	"masked" },
	{ PWL_T_TTL,		PWL_K_U64,	8,		"ttl" },
	{ PWL_T_WANT_TOKEN,	PWL_K_U8,	1,		"want_token" },
	{ PWL_T_MESSAGE,	PWL_K_PRINT,	PWL_STR_MAX,	"message" },
	{ PWL_T_RETRY_AFTER,	PWL_K_U64,	8,		"retry_after" },
	{ PWL_T_ATTEMPTS_LEFT,	PWL_K_U32,	4,		"attempts_left" },
	{ PWL_T_VERSION,	PWL_K_PRINT,	32,		"version" },
	{ PWL_T_COUNT,		PWL_K_U32,	4,		"count" },
	{ PWL_T_SINCE,		PWL_K_U64,	8,		"since" },
	{ PWL_T_UID,		PWL_K_U32,	4,		"uid" },
	{ PWL_T_TIME,		PWL_K_U64,	8,		"time" },
	{ PWL_T_EVENT,		PWL_K_PRINT,	PWL_STR_MAX,	"event" },
	{ PWL_T_CODE_LEN,	PWL_K_U32,	4,		"code_len" },
	{ PWL_T_FAILURES,	PWL_K_U32,	4,		"failures" },
	{ PWL_T_LOCKED_UNTIL,	PWL_K_U64,	8,		"locked_until" },
	{ PWL_T_PENDING,	PWL_K_PRINT,	PWL_EMAIL_MAX,	"pending" },
	{ PWL_T_KIND,		PWL_K_PRINT,	16,		"kind" },
	{ PWL_T_NEXT,		PWL_K_PRINT,	PWL_STR_MAX,	"next" },
	{ PWL_T_OUTBOX_ID,	PWL_K_U64,	8,		"outbox_id" },
	{ PWL_T_SUBJECT,	PWL_K_PRINT,	PWL_STR_MAX,	"subject" },
	{ PWL_T_BODY,		PWL_K_TEXT,	PWL_BODY_MAX,	"body" },
	{ PWL_T_MSGID,		PWL_K_PRINT,	PWL_MSGID_MAX,	"msgid" },
	{ PWL_T_NEED,		PWL_K_PRINT,	16,		"need" },
	{ PWL_T_COOLING,	PWL_K_U64,	8,		"cooling" },
	{ PWL_T_METHOD,		PWL_K_PRINT,	63,		"method" },
	{ PWL_T_RESULT,		PWL_K_PRINT,	63,		"result" },
	{ PWL_T_DETAIL,		PWL_K_PRINT,	PWL_STR_MAX,	"detail" },
	{ PWL_T_AUDIT_ID,	PWL_K_U64,	8,		"audit_id" },
	{ PWL_T_HEAD,		PWL_K_PRINT,	64,		"head" },
	{ PWL_T_MASKED_OLD,	PWL_K_PRINT,	PWL_EMAIL_MAX,	"masked_old" },
	{ PWL_T_LAST_ERROR,	PWL_K_PRINT,	PWL_STR_MAX,	"last_error" },
	{ PWL_T_BROKEN,		PWL_K_U64,	8,		"broken" },
};

const struct pwl_tag_info *
pwl_tag_info(uint16_t tag)
{
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i].tag == tag)
			return &tags[i];
	return NULL;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void
pwl_hdr_encode(const struct pwl_hdr *h, uint8_t out[PWL_HDR_LEN])
{
	put32(out, h->body_len);
	out[4] = h->major;
	out[5] = h->minor;
	put16(out + 6, h->type);
	put32(out + 8, h->req_id);
}

int
pwl_hdr_decode(const uint8_t in[PWL_HDR_LEN], size_t max, struct pwl_hdr *h)
{
	h->body_len = get32(in);
	h->major = in[4];
	h->minor = in[5];
	h->type = get16(in + 6);
	h->req_id = get32(in + 8);
	if (h->major != PWL_PROTO_MAJOR)
		return PWL_ERR_VERSION;
	if (h->body_len > max)
		return PWL_ERR_TOOBIG;
	return 0;
}

void
pwl_w_init(struct pwl_wbuf *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

static uint8_t *
w_reserve(struct pwl_wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err != 0)
		return NULL;
	if (n > w->cap - w->len) {
		w->err = PWL_ERR_TOOBIG;
		return NULL;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

void
pwl_w_status(struct pwl_wbuf *w, uint16_t st)
{
	uint8_t *p;

	if ((p = w_reserve(w, 2)) != NULL)
		put16(p, st);
}

void
pwl_w_bytes(struct pwl_wbuf *w, uint16_t tag, const void *v, size_t n)
{
	uint8_t *p;

	if (n > 0xffff) {
		if (w->err == 0)
			w->err = PWL_ERR_TOOBIG;
		return;
	}
	if ((p = w_reserve(w, 4 + n)) == NULL)
		return;
	put16(p, tag);
	put16(p + 2, (uint16_t)n);
	if (n > 0)
		memcpy(p + 4, v, n);
}

void
pwl_w_str(struct pwl_wbuf *w, uint16_t tag, const char *s)
{
	if (s == NULL)
		return;
	pwl_w_bytes(w, tag, s, strlen(s));
}

void
pwl_w_u8(struct pwl_wbuf *w, uint16_t tag, uint8_t v)
{
	pwl_w_bytes(w, tag, &v, 1);
}

void
pwl_w_u32(struct pwl_wbuf *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	pwl_w_bytes(w, tag, b, sizeof(b));
}

void
pwl_w_u64(struct pwl_wbuf *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];

	put32(b, (uint32_t)(v >> 32));
	put32(b + 4, (uint32_t)v);
	pwl_w_bytes(w, tag, b, sizeof(b));
}

size_t
pwl_w_begin(struct pwl_wbuf *w, uint16_t tag)
{
	size_t mark = w->len;
	uint8_t *p;

	if ((p = w_reserve(w, 4)) == NULL)
		return mark;
	put16(p, tag);
	put16(p + 2, 0);
	return mark;
}

void
pwl_w_end(struct pwl_wbuf *w, size_t mark)
{
	size_t n;

	if (w->err != 0)
		return;
	n = w->len - mark - 4;
	if (n > 0xffff) {
		w->err = PWL_ERR_TOOBIG;
		return;
	}
	put16(w->p + mark + 2, (uint16_t)n);
}

/*
 * Printable UTF-8: well-formed sequences (no overlongs, no surrogates,
 * nothing past U+10FFFF), no C0 controls, DEL or C1 controls.
 */
int
pwl_printable(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2; cp = p[i] & 0x1f; min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3; cp = p[i] & 0x0f; min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4; cp = p[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (len > n - i)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

static int
secret_ok(const uint8_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return 0;
	return 1;
}

/* Printable lines joined by LF (a message body). */
static int
text_ok(const uint8_t *v, size_t n)
{
	const uint8_t *lf;
	size_t len;

	while (n > 0) {
		lf = memchr(v, '\n', n);
		len = lf != NULL ? (size_t)(lf - v) : n;
		if (!pwl_printable((const char *)v, len))
			return 0;
		if (lf == NULL)
			break;
		v += len + 1;
		n -= len + 1;
	}
	return 1;
}

static int
value_ok(const struct pwl_tag_info *ti, const uint8_t *v, size_t n)
{
	if (n > ti->max)
		return 0;
	switch (ti->kind) {
	case PWL_K_STR:
		return memchr(v, '\0', n) == NULL;
	case PWL_K_PRINT:
		return pwl_printable((const char *)v, n);
	case PWL_K_SECRET:
		return secret_ok(v, n);
	case PWL_K_TEXT:
		return text_ok(v, n);
	case PWL_K_U8:
		return n == 1;
	case PWL_K_U32:
		return n == 4;
	case PWL_K_U64:
		return n == 8;
	case PWL_K_NEST:
		return 1;
	}
	return 0;
}

static int
seen_before(const struct pwl_msg *m, uint16_t tag)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->tlv[i].tag == tag)
			return 1;
	return 0;
}

int
pwl_msg_parse(const uint8_t *b, size_t len, int has_status,
    struct pwl_msg *m)
{
	const struct pwl_tag_info *ti;
	size_t off = 0;
	uint16_t tag, vlen;

	m->n = 0;
	m->status = 0;
	if (has_status) {
		if (len < 2)
			return PWL_ERR_PROTO;
		m->status = get16(b);
		off = 2;
	}
	while (off < len) {
		if (len - off < 4)
			return PWL_ERR_PROTO;	/* trailing bytes */
		tag = get16(b + off);
		vlen = get16(b + off + 2);
		off += 4;
		if (vlen > len - off)
			return PWL_ERR_PROTO;	/* overrun */
		ti = pwl_tag_info(tag);
		if (ti == NULL) {
			if (tag & PWL_TAG_CRITICAL)
				return PWL_ERR_PROTO;
			off += vlen;		/* unknown, optional: skip */
			continue;
		}
		if (!value_ok(ti, b + off, vlen))
			return PWL_ERR_PROTO;
		if (ti->kind != PWL_K_NEST && seen_before(m, tag))
			return PWL_ERR_PROTO;	/* duplicate */
		if (m->n == PWL_MSG_MAX_TLVS)
			return PWL_ERR_TOOBIG;
		m->tlv[m->n].tag = tag;
		m->tlv[m->n].len = vlen;
		m->tlv[m->n].val = b + off;
		m->n++;
		off += vlen;
	}
	return 0;
}

const struct pwl_tlv *
pwl_msg_get(const struct pwl_msg *m, uint16_t tag)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->tlv[i].tag == tag)
			return &m->tlv[i];
	return NULL;
}

int
pwl_msg_str(const struct pwl_msg *m, uint16_t tag, char *out, size_t sz)
{
	const struct pwl_tlv *t;

	if (sz > 0)
		out[0] = '\0';
	if ((t = pwl_msg_get(m, tag)) == NULL)
		return -1;
	if (t->len >= sz)
		return -1;
	memcpy(out, t->val, t->len);
	out[t->len] = '\0';
	return 0;
}

int
pwl_msg_u8(const struct pwl_msg *m, uint16_t tag, uint8_t *v)
{
	const struct pwl_tlv *t;

	if ((t = pwl_msg_get(m, tag)) == NULL || t->len != 1)
		return -1;
	*v = t->val[0];
	return 0;
}

int
pwl_msg_u32(const struct pwl_msg *m, uint16_t tag, uint32_t *v)
{
	const struct pwl_tlv *t;

	if ((t = pwl_msg_get(m, tag)) == NULL || t->len != 4)
		return -1;
	*v = get32(t->val);
	return 0;
}

int
pwl_msg_u64(const struct pwl_msg *m, uint16_t tag, uint64_t *v)
{
	const struct pwl_tlv *t;

	if ((t = pwl_msg_get(m, tag)) == NULL || t->len != 8)
		return -1;
	*v = ((uint64_t)get32(t->val) << 32) | get32(t->val + 4);
	return 0;
}

const char *
pwl_status_name(uint16_t st)
{
	static const char *names[PWL_ST__MAX] = {
		"OK", "DENIED", "UNKNOWN_USER", "EXPIRED", "RATE_LIMITED",
		"NOT_PERMITTED", "NO_FACTOR", "BAD_REQUEST", "VERSION",
		"INTERNAL", "UNAVAILABLE", "NOT_FOUND", "EXISTS", "DISABLED",
		"LIMIT",
	};

	return st < PWL_ST__MAX ? names[st] : "UNKNOWN_STATUS";
}

const char *
pwl_type_name(uint16_t type)
{
	switch (type) {
	case PWL_MSG_HELLO: return "HELLO";
	case PWL_MSG_AUTH_KEY: return "AUTH_KEY";
	case PWL_MSG_CODE_START: return "CODE_START";
	case PWL_MSG_CODE_ANSWER: return "CODE_ANSWER";
	case PWL_MSG_TOKEN_VERIFY: return "TOKEN_VERIFY";
	case PWL_MSG_ACCT_CHECK: return "ACCT_CHECK";
	case PWL_MSG_SESSION_CLOSE: return "SESSION_CLOSE";
	case PWL_MSG_TOKEN_ISSUE: return "TOKEN_ISSUE";
	case PWL_MSG_TOKEN_LIST: return "TOKEN_LIST";
	case PWL_MSG_TOKEN_REVOKE: return "TOKEN_REVOKE";
	case PWL_MSG_KEY_CREATE: return "KEY_CREATE";
	case PWL_MSG_KEY_LIST: return "KEY_LIST";
	case PWL_MSG_KEY_REVOKE: return "KEY_REVOKE";
	case PWL_MSG_KEY_ROTATE: return "KEY_ROTATE";
	case PWL_MSG_CONTACT_SHOW: return "CONTACT_SHOW";
	case PWL_MSG_CONTACT_SET: return "CONTACT_SET";
	case PWL_MSG_CONTACT_CONFIRM: return "CONTACT_CONFIRM";
	case PWL_MSG_CONTACT_CANCEL: return "CONTACT_CANCEL";
	case PWL_MSG_CONTACT_REMOVE: return "CONTACT_REMOVE";
	case PWL_MSG_AUDIT_LIST: return "AUDIT_LIST";
	case PWL_MSG_ADMIN_USER_ADD: return "ADMIN_USER_ADD";
	case PWL_MSG_ADMIN_USER_LIST: return "ADMIN_USER_LIST";
	case PWL_MSG_ADMIN_USER_SHOW: return "ADMIN_USER_SHOW";
	case PWL_MSG_ADMIN_USER_SET: return "ADMIN_USER_SET";
	case PWL_MSG_ADMIN_USER_REMOVE: return "ADMIN_USER_REMOVE";
	case PWL_MSG_ADMIN_KEY_LIST: return "ADMIN_KEY_LIST";
	case PWL_MSG_ADMIN_KEY_REVOKE_ALL: return "ADMIN_KEY_REVOKE_ALL";
	case PWL_MSG_ADMIN_UNLOCK: return "ADMIN_UNLOCK";
	case PWL_MSG_ADMIN_AUDIT: return "ADMIN_AUDIT";
	case PWL_MSG_ADMIN_AUDIT_VERIFY: return "ADMIN_AUDIT_VERIFY";
	case PWL_MSG_ADMIN_CONTACT_APPROVE: return "ADMIN_CONTACT_APPROVE";
	case PWL_MSG_ADMIN_SEND_TEST: return "ADMIN_SEND_TEST";
	case PWL_MSG_ADMIN_OUTBOX_STATE: return "ADMIN_OUTBOX_STATE";
	case PWL_MSG_ADMIN_LIMITS: return "ADMIN_LIMITS";
	case PWL_MSG_ADMIN_LIMITS_CLEAR: return "ADMIN_LIMITS_CLEAR";
	case PWL_MSG_SEND: return "SEND";
	}
	return "UNKNOWN_TYPE";
}

const char *
pwl_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case PWL_ERR_NOSOCKET: return "daemon not running (socket missing "
	    "or connection refused)";
	case PWL_ERR_TIMEOUT: return "daemon did not answer in time";
	case PWL_ERR_IO: return "connection to daemon failed";
	case PWL_ERR_PROTO: return "malformed message";
	case PWL_ERR_VERSION: return "protocol version mismatch "
	    "(mixed old and new binaries?)";
	case PWL_ERR_TOOBIG: return "message or field too large";
	case PWL_ERR_NOMEM: return "out of memory";
	case PWL_ERR_UNTRUSTED: return "socket or daemon not owned by a "
	    "trusted user";
	case PWL_ERR_INVAL: return "invalid argument";
	}
	return "unknown error";
}

static void
fmt_append(char *out, size_t sz, size_t *off, const char *name,
    const char *val)
{
	int n;

	if (*off >= sz)
		return;
	n = snprintf(out + *off, sz - *off, " %s=%s", name, val);
	if (n < 0)
		return;
	*off += (size_t)n < sz - *off ? (size_t)n : sz - *off - 1;
}

static void
fmt_value(const struct pwl_tag_info *ti, const struct pwl_tlv *t,
    char *v, size_t vsz)
{
	struct pwl_msg tmp;
	uint64_t u = 0;
	size_t i;

	switch (ti->kind) {
	case PWL_K_SECRET:
	case PWL_K_TEXT:
		snprintf(v, vsz, "<redacted len=%u>", (unsigned)t->len);
		return;
	case PWL_K_U8:
	case PWL_K_U32:
	case PWL_K_U64:
		for (i = 0; i < t->len; i++)
			u = (u << 8) | t->val[i];
		snprintf(v, vsz, "%llu", (unsigned long long)u);
		return;
	case PWL_K_NEST:
		if (pwl_msg_parse(t->val, t->len, 0, &tmp) == 0)
			snprintf(v, vsz, "{%zu fields}", tmp.n);
		else
			snprintf(v, vsz, "{malformed}");
		return;
	default:
		snprintf(v, vsz, "\"%.*s\"", (int)t->len, (const char *)t->val);
	}
}

void
pwl_msg_format(uint16_t type, const struct pwl_msg *m, char *out, size_t sz)
{
	const struct pwl_tag_info *ti;
	char v[300];
	size_t i, off = 0;

	if (sz == 0)
		return;
	out[0] = '\0';
	snprintf(out, sz, "%s", pwl_type_name(type));
	off = strlen(out);
	for (i = 0; i < m->n; i++) {
		ti = pwl_tag_info(m->tlv[i].tag);
		if (ti == NULL)
			continue;
		fmt_value(ti, &m->tlv[i], v, sizeof(v));
		fmt_append(out, sz, &off, ti->name, v);
	}
}
