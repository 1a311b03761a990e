/*
 * dispatch.c: where every request is handled.  The table below maps each
 * message type to its handler and to who may call it; the check is made
 * here, once, before any handler runs.  Helpers for handlers follow.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pwlessd.h"
#include "util.h"

enum who {
	ANY,	/* anyone who can connect */
	AUTH,	/* the handler applies the trust rule to the named user */
	SELF,	/* the caller's own account; no user in the request */
	ADMIN,	/* uid 0 or a member of admin_group */
};

static const struct route {
	uint16_t	type;
	enum who	who;
	handler_fn	fn;
} routes[] = {
	{ PWL_MSG_HELLO,		ANY,	h_hello },
	{ PWL_MSG_AUTH_KEY,		AUTH,	h_auth_key },
	{ PWL_MSG_ACCT_CHECK,		AUTH,	h_acct_check },
	{ PWL_MSG_KEY_CREATE,		SELF,	h_key_create },
	{ PWL_MSG_KEY_LIST,		SELF,	h_key_list },
	{ PWL_MSG_KEY_REVOKE,		SELF,	h_key_revoke },
	{ PWL_MSG_KEY_ROTATE,		SELF,	h_key_rotate },
	{ PWL_MSG_ADMIN_USER_ADD,	ADMIN,	h_admin_user_add },
	{ PWL_MSG_ADMIN_USER_LIST,	ADMIN,	h_admin_user_list },
	{ PWL_MSG_ADMIN_USER_SHOW,	ADMIN,	h_admin_user_show },
	{ PWL_MSG_ADMIN_USER_SET,	ADMIN,	h_admin_user_set },
	{ PWL_MSG_ADMIN_USER_REMOVE,	ADMIN,	h_admin_user_remove },
	{ PWL_MSG_ADMIN_KEY_LIST,	ADMIN,	h_admin_key_list },
	{ PWL_MSG_ADMIN_KEY_REVOKE_ALL,	ADMIN,	h_admin_key_revoke_all },
	{ PWL_MSG_TOKEN_VERIFY,		AUTH,	h_token_verify },
	{ PWL_MSG_SESSION_CLOSE,	AUTH,	h_session_close },
	{ PWL_MSG_TOKEN_ISSUE,		SELF,	h_token_issue },
	{ PWL_MSG_TOKEN_LIST,		SELF,	h_token_list },
	{ PWL_MSG_TOKEN_REVOKE,		SELF,	h_token_revoke },
	{ PWL_MSG_CODE_START,		AUTH,	h_code_start },
	{ PWL_MSG_CODE_ANSWER,		AUTH,	h_code_answer },
	{ PWL_MSG_ADMIN_UNLOCK,		ADMIN,	h_admin_unlock },
	{ PWL_MSG_CONTACT_SHOW,		SELF,	h_contact_show },
	{ PWL_MSG_CONTACT_SET,		SELF,	h_contact_set },
	{ PWL_MSG_CONTACT_CONFIRM,	SELF,	h_contact_confirm },
	{ PWL_MSG_CONTACT_CANCEL,	SELF,	h_contact_cancel },
	{ PWL_MSG_CONTACT_REMOVE,	SELF,	h_contact_remove },
	{ PWL_MSG_AUDIT_LIST,		SELF,	h_audit_list },
	{ PWL_MSG_ADMIN_AUDIT,		ADMIN,	h_admin_audit },
	{ PWL_MSG_ADMIN_AUDIT_VERIFY,	ADMIN,	h_admin_audit_verify },
	{ PWL_MSG_ADMIN_CONTACT_APPROVE, ADMIN,	h_admin_contact_approve },
	{ PWL_MSG_ADMIN_SEND_TEST,	ADMIN,	h_admin_send_test },
	{ PWL_MSG_ADMIN_OUTBOX_STATE,	ADMIN,	h_admin_outbox_state },
	{ PWL_MSG_ADMIN_LIMITS,		ADMIN,	h_admin_limits },
	{ PWL_MSG_ADMIN_LIMITS_CLEAR,	ADMIN,	h_admin_limits_clear },
};

static const struct route *
route_find(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].type == type)
			return &routes[i];
	return NULL;
}

int
req_caller(struct req *r)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (r->caller[0] != '\0')
		return 0;
	if (getpwuid_r(r->uid, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return -1;
	if (pwl_strlcpy(r->caller, pw.pw_name, sizeof(r->caller)) >=
	    sizeof(r->caller)) {
		r->caller[0] = '\0';
		return -1;
	}
	return 0;
}

/* Trust rule (DESIGN 4): root and trusted_uids for anyone, others self. */
int
req_may_auth(struct req *r, const char *user)
{
	if (config_trusted(&r->d->cfg, r->uid))
		return 1;
	return req_caller(r) == 0 && strcmp(r->caller, user) == 0;
}

int
req_in_group(struct req *r, const char *group)
{
	struct group gr, *res = NULL;
	char buf[8192];
	gid_t groups[256];
	int n = 256, i;

	if (group[0] == '\0' ||
	    getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (r->gid == gr.gr_gid)
		return 1;
	if (req_caller(r) != 0 ||
	    getgrouplist(r->caller, r->gid, groups, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gr.gr_gid)
			return 1;
	return 0;
}

int
req_is_admin(struct req *r)
{
	return r->uid == 0 || req_in_group(r, r->d->cfg.admin_group);
}

void
req_message(struct req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/*
 * Copies string tag into out.  A missing required tag is a bad request;
 * returns 0, or -1 after setting the message.
 */
int
req_str(struct req *r, uint16_t tag, char *out, size_t sz, int required)
{
	const struct pwl_tag_info *ti = pwl_tag_info(tag);

	if (pwl_msg_str(r->msg, tag, out, sz) == 0)
		return 0;
	if (!required && pwl_msg_get(r->msg, tag) == NULL)
		return 0;
	req_message(r, "request lacks a valid %s",
	    ti != NULL ? ti->name : "field");
	return -1;
}

/*
 * The request's LIFETIME, dflt when absent or 0, refused over max with a
 * message naming what ("key", "token").
 */
uint16_t
req_lifetime(struct req *r, uint64_t dflt, uint64_t max, const char *what,
    uint64_t *life)
{
	char a[32], b[32];

	if (pwl_msg_u64(r->msg, PWL_T_LIFETIME, life) != 0 || *life == 0)
		*life = dflt;
	if (*life > max) {
		pwl_format_duration(*life, a, sizeof(a));
		pwl_format_duration(max, b, sizeof(b));
		req_message(r, "a %s may live at most %s (asked for %s)", what,
		    b, a);
		return PWL_ST_LIMIT;
	}
	return PWL_ST_OK;
}

static uint16_t
check_caller(struct req *r, enum who who)
{
	switch (who) {
	case ANY:
	case AUTH:
		return PWL_ST_OK;
	case SELF:
		if (req_caller(r) == 0)
			return PWL_ST_OK;
		req_message(r, "uid %u has no user name", (unsigned)r->uid);
		return PWL_ST_NOT_PERMITTED;
	case ADMIN:
		(void)req_caller(r);
		if (req_is_admin(r))
			return PWL_ST_OK;
		req_message(r, "admin commands need root or membership of "
		    "admin_group");
		return PWL_ST_NOT_PERMITTED;
	}
	return PWL_ST_INTERNAL;
}

static uint16_t
run(struct req *r, const uint8_t *body, size_t len, struct pwl_wbuf *out)
{
	const struct route *rt;
	struct pwl_msg msg;
	uint16_t st;

	if ((rt = route_find(r->type)) == NULL) {
		req_message(r, "unknown request type 0x%04x", r->type);
		return PWL_ST_BAD_REQUEST;
	}
	if (pwl_msg_parse(body, len, 0, &msg) != 0) {
		req_message(r, "malformed request body");
		return PWL_ST_BAD_REQUEST;
	}
	r->msg = &msg;
	if (log_debug_enabled()) {
		char line[1024];

		pwl_msg_format(r->type, &msg, line, sizeof(line));
		log_msg(LOG_DEBUG, "request uid=%u pid=%d %s",
		    (unsigned)r->uid, (int)r->pid, line);
	}
	if ((st = check_caller(r, rt->who)) != PWL_ST_OK) {
		audit_event(r, LOG_NOTICE, "refused", "type",
		    pwl_type_name(r->type), "reason", "not_permitted",
		    "caller", r->caller, "result",
		    pwl_status_name(st), NULL);
		return st;
	}
	if (r->type != PWL_MSG_HELLO && (st = req_store_gate(r)) != PWL_ST_OK)
		return st;
	st = rt->fn(r, out);
	if (rt->who == SELF || rt->who == ADMIN)
		audit_fallback(r, st, rt->who == ADMIN);
	r->msg = NULL;
	return st;
}

/*
 * Answers one request into out: the status first, then the handler's
 * tags, or on failure only MESSAGE and the tags a caller needs to retry.
 */
void
dispatch(struct daemon *d, uid_t uid, gid_t gid, pid_t pid, uint16_t type,
    const uint8_t *body, size_t len, struct pwl_wbuf *out)
{
	struct req r;
	uint16_t st;

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.uid = uid;
	r.gid = gid;
	r.pid = pid;
	r.type = type;
	r.now = time(NULL);
	r.attempts_left = -1;
	log_quiet(0);
	pwl_w_status(out, PWL_ST_INTERNAL);
	audit_request_begin(&r);
	st = run(&r, body, len, out);
	st = audit_request_end(&r, st);
	if (out->err != 0) {
		log_msg(LOG_ERR, "reply to %s too large", pwl_type_name(type));
		st = PWL_ST_INTERNAL;
	}
	if (st != PWL_ST_OK || out->err != 0) {
		explicit_bzero(out->p, out->len);
		pwl_w_init(out, out->p, out->cap);
		pwl_w_status(out, st);
	} else {
		out->p[0] = 0;
		out->p[1] = 0;
	}
	if (st != PWL_ST_OK && r.retry_after > 0)
		pwl_w_u64(out, PWL_T_RETRY_AFTER, r.retry_after);
	if (st != PWL_ST_OK && r.attempts_left >= 0)
		pwl_w_u32(out, PWL_T_ATTEMPTS_LEFT, (uint32_t)r.attempts_left);
	if (r.message[0] != '\0')
		pwl_w_str(out, PWL_T_MESSAGE, r.message);
}
