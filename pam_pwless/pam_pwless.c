/*
 * pam_pwless.c: the PAM module.  Reads one credential (API key, session
 * token, or a one-time code sent on request), asks pwlessd over its Unix
 * socket and turns the answer into a PAM result.  Links libc, libpam and
 * libpwlcommon only; no globals, no threads, no signals, secrets wiped.
 */
#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <security/pam_ext.h>

#include "pwless/proto.h"
#include "keyfmt.h"
#include "transport.h"
#include "util.h"

#define FAIL_DELAY_US	2000000u	/* asked for on every attempt */
#define INPUT_MAX	PAM_MAX_RESP_SIZE /* an answer, with its NUL */
#define TIMEOUT_MAX	300		/* timeout= cap, seconds */
#define CHALLENGE_MAX	PWL_CHALLENGE_MAX
#define DATA_PENDING	"pam_pwless_pending"
#define ENV_TOKEN	"PWLESS_TOKEN"
#define CODE_PROMPT	"One-time code: "
#define CHANNEL_PROMPT	"Send the code by email or sms? "

#define M_KEY		0x01		/* methods= bits */
#define M_CODE		0x02
#define M_TOKEN		0x04
#define M_ALL		(M_KEY | M_CODE | M_TOKEN)

#define CH_ASK		(-1)		/* channel=ask */
#define CH_NONE		(-2)		/* not a channel word */

#define WHO_TTY		0x01		/* put_who: add TTY */
#define WHO_RUSER	0x02		/* put_who: add RUSER */

#define UNUSED		__attribute__((__unused__))

enum phase {
	PH_AUTH,			/* pam_sm_authenticate */
	PH_ACCT,			/* pam_sm_acct_mgmt */
};

struct opts {
	const char	*socket;	/* daemon socket */
	const char	*prompt;	/* NULL: chosen from methods */
	int		 timeout_ms;	/* whole request */
	int		 methods;	/* M_* */
	int		 channel;	/* PWL_CH_* or CH_ASK */
	int		 use_first;	/* use_first_pass */
	int		 try_first;	/* try_first_pass */
	int		 ign_unknown;	/* ignore_unknown_user */
	int		 ign_unavail;	/* ignore_unavailable */
	int		 show_dest;	/* show_destination */
	int		 no_token;	/* never ask for a session token */
	int		 debug;		/* LOG_DEBUG lines, secrets redacted */
	int		 silent;	/* PAM_SILENT: no info or error text */
};

/* One attempt: who asks and what happened, for requests and the log. */
struct attempt {
	const char	*user;		/* PAM_USER */
	const char	*service;	/* PAM_SERVICE */
	const char	*rhost;		/* PAM_RHOST, NULL if unset */
	const char	*tty;		/* PAM_TTY, NULL if unset */
	const char	*ruser;		/* PAM_RUSER, NULL if unset */
	int		 valid;		/* every field fits the protocol */
	const char	*method;	/* for the log line */
	char		 key_id[PWL_ID_LEN + 1]; /* of a well-formed key */
	int		 err;		/* last transport error, 0 if none */
	int		 status;	/* last daemon status, -1 if none */
};

/* A code challenge kept between pam_authenticate calls (sshd retries). */
struct pending {
	char		 user[PWL_USER_MAX + 1];
	char		 challenge[CHALLENGE_MAX + 1];
};

/* --- options ------------------------------------------------------------ */

static int
parse_methods(pam_handle_t *pamh, const char *s)
{
	int m = 0;
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, ",");
		if (n == 3 && strncmp(s, "key", n) == 0)
			m |= M_KEY;
		else if (n == 4 && strncmp(s, "code", n) == 0)
			m |= M_CODE;
		else if (n == 5 && strncmp(s, "token", n) == 0)
			m |= M_TOKEN;
		else if (n > 0)
			pam_syslog(pamh, LOG_ERR, "methods=: unknown method "
			    "\"%.*s\" ignored; use key, code, token",
			    (int)n, s);
		s += n;
		if (*s == ',')
			s++;
	}
	return m;
}

static int
opt_flag(struct opts *o, const char *a)
{
	const struct {
		const char	*name;
		int		*flag;
	} f[] = {
		{ "use_first_pass", &o->use_first },
		{ "try_first_pass", &o->try_first },
		{ "ignore_unknown_user", &o->ign_unknown },
		{ "ignore_unavailable", &o->ign_unavail },
		{ "show_destination", &o->show_dest },
		{ "no_token", &o->no_token },
		{ "debug", &o->debug },
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (strcmp(a, f[i].name) == 0) {
			*f[i].flag = 1;
			return 1;
		}
	}
	return 0;
}

/* name=value options; 1 when the name is known (bad values are logged). */
static int
opt_value(pam_handle_t *pamh, struct opts *o, const char *a)
{
	uint64_t v;

	if (strncmp(a, "methods=", 8) == 0)
		o->methods = parse_methods(pamh, a + 8);
	else if (strncmp(a, "prompt=", 7) == 0)
		o->prompt = a + 7;
	else if (strncmp(a, "socket=", 7) == 0 && a[7] == '/')
		o->socket = a + 7;
	else if (strncmp(a, "timeout=", 8) == 0 &&
	    pwl_parse_uint(a + 8, TIMEOUT_MAX, &v) == 0 && v > 0)
		o->timeout_ms = (int)v * 1000;
	else if (strcmp(a, "channel=email") == 0)
		o->channel = PWL_CH_EMAIL;
	else if (strcmp(a, "channel=sms") == 0)
		o->channel = PWL_CH_SMS;
	else if (strcmp(a, "channel=ask") == 0)
		o->channel = CH_ASK;
	else if (strncmp(a, "socket=", 7) == 0 ||
	    strncmp(a, "timeout=", 8) == 0 || strncmp(a, "channel=", 8) == 0) {
		pam_syslog(pamh, LOG_ERR, "bad value in \"%s\" ignored "
		    "(socket= takes an absolute path, timeout= 1..%d "
		    "seconds, channel= email, sms or ask)", a, TIMEOUT_MAX);
	} else
		return 0;
	return 1;
}

/* Parses the module arguments; bad ones are logged and ignored. */
static void
parse_opts(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->socket = PWL_DEFAULT_SOCKET;
	o->timeout_ms = PWL_DEFAULT_MS;
	o->methods = M_ALL;
	o->channel = PWL_CH_DEFAULT;
	o->silent = ((unsigned int)flags & PAM_SILENT) != 0;
	for (i = 0; i < argc; i++) {
		if (!opt_flag(o, argv[i]) && !opt_value(pamh, o, argv[i]))
			pam_syslog(pamh, LOG_ERR, "unknown option \"%s\" "
			    "ignored; see pam_pwless(8)", argv[i]);
	}
}

/* --- results and logging -------------------------------------------------- */

/*
 * The one place where transport errors and daemon statuses become PAM
 * results (DESIGN 3).  Anything not listed fails closed.
 */
static int
pam_result(const struct opts *o, enum phase ph, int err, int st)
{
	if (err == PWL_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (err == PWL_ERR_NOSOCKET || err == PWL_ERR_TIMEOUT ||
	    err == PWL_ERR_IO || err == PWL_ERR_UNTRUSTED)
		st = PWL_ST_UNAVAILABLE;
	else if (err != 0)
		return PAM_SYSTEM_ERR;
	switch (st) {
	case PWL_ST_OK:
		return PAM_SUCCESS;
	case PWL_ST_DENIED:
	case PWL_ST_EXPIRED:
	case PWL_ST_NO_FACTOR:
		return PAM_AUTH_ERR;
	case PWL_ST_UNKNOWN_USER:
		if (o->ign_unknown)
			return PAM_IGNORE;
		return ph == PH_ACCT ? PAM_USER_UNKNOWN : PAM_AUTH_ERR;
	case PWL_ST_DISABLED:
		return ph == PH_ACCT ? PAM_ACCT_EXPIRED : PAM_AUTH_ERR;
	case PWL_ST_RATE_LIMITED:
		return PAM_MAXTRIES;
	case PWL_ST_NOT_PERMITTED:
		return PAM_PERM_DENIED;
	case PWL_ST_UNAVAILABLE:
		return o->ign_unavail ? PAM_IGNORE : PAM_AUTHINFO_UNAVAIL;
	default:
		return PAM_SYSTEM_ERR;
	}
}

/* Says what went wrong with the daemon and what an admin can do. */
static void
log_trouble(pam_handle_t *pamh, const struct opts *o, uint16_t type,
    int err, int st)
{
	const char *hint = "see journalctl -u pwlessd";

	if (err == PWL_ERR_NOSOCKET)
		hint = "is pwlessd running? systemctl start pwlessd.socket";
	else if (err == PWL_ERR_UNTRUSTED)
		hint = "the socket must be served by root or the pwless user; "
		    "check socket= in the PAM configuration";
	else if (err == PWL_ERR_VERSION || err == PWL_ERR_PROTO ||
	    st == PWL_ST_VERSION || st == PWL_ST_BAD_REQUEST)
		hint = "install matching versions of pam_pwless and pwlessd";
	if (err != 0)
		pam_syslog(pamh, LOG_ERR, "%s to pwlessd at %s failed: %s; %s",
		    pwl_type_name(type), o->socket, pwl_strerror(err), hint);
	else if (st == PWL_ST_UNAVAILABLE || st == PWL_ST_INTERNAL ||
	    st == PWL_ST_VERSION || st == PWL_ST_BAD_REQUEST)
		pam_syslog(pamh, LOG_ERR, "pwlessd at %s answered %s to %s; %s",
		    o->socket, pwl_status_name((uint16_t)st),
		    pwl_type_name(type), hint);
}

static void
log_debug(pam_handle_t *pamh, const char *dir, uint16_t type,
    const struct pwl_msg *m, int st)
{
	char line[1024];

	pwl_msg_format(type, m, line, sizeof(line));
	pam_syslog(pamh, LOG_DEBUG, "%s %s%s%s", dir, line,
	    st < 0 ? "" : " status=",
	    st < 0 ? "" : pwl_status_name((uint16_t)st));
}

static const char *
loggable(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return "-";
	n = strnlen(s, max + 1);
	return n <= max && pwl_printable(s, n) ? s : "<invalid>";
}

/* One line per attempt; never a key, code or token (the key id is public). */
static void
log_attempt(pam_handle_t *pamh, const struct attempt *a, int r)
{
	pam_syslog(pamh, r == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE,
	    "%s: user=%s service=%s rhost=%s method=%s key_id=%s status=%s "
	    "error=\"%s\" result=\"%s\"",
	    r == PAM_SUCCESS ? "accepted" : r == PAM_IGNORE ? "ignored" :
	    "refused", loggable(a->user, PWL_USER_MAX),
	    loggable(a->service, PWL_SERVICE_MAX),
	    loggable(a->rhost, PWL_RHOST_MAX), a->method,
	    a->key_id[0] != '\0' ? a->key_id : "-", a->status < 0 ? "-" :
	    pwl_status_name((uint16_t)a->status),
	    a->err != 0 ? pwl_strerror(a->err) : "", pam_strerror(pamh, r));
}

/* --- conversation ------------------------------------------------------- */

static void
tell(pam_handle_t *pamh, const struct opts *o, int style, const char *text)
{
	if (!o->silent)
		(void)pam_prompt(pamh, style, NULL, "%s", text);
}

/* Copies an answer into a fixed buffer; too long is a wrong answer. */
static int
copy_input(char *out, size_t sz, const char *in)
{
	size_t n = strlen(in);

	if (n >= sz)
		return PAM_AUTH_ERR;
	memcpy(out, in, n + 1);
	return PAM_SUCCESS;
}

/* One prompt; libpam's copy of the answer is wiped and freed here. */
static int
converse(pam_handle_t *pamh, int style, const char *text, char *out,
    size_t sz)
{
	char *resp = NULL;
	int r;

	out[0] = '\0';
	r = pam_prompt(pamh, style, &resp, "%s", text);
	if (r != PAM_SUCCESS || resp == NULL) {
		r = PAM_CONV_ERR;
		goto out;
	}
	r = copy_input(out, sz, resp);
 out:
	if (resp != NULL) {
		explicit_bzero(resp, strlen(resp));
		free(resp);
	}
	return r;
}

static const char *
first_prompt(const struct opts *o)
{
	static const char *const text[M_ALL + 1] = {
		[M_KEY] = "pwless key: ",
		[M_TOKEN] = "pwless token: ",
		[M_KEY | M_TOKEN] = "pwless key or token: ",
		[M_CODE] = "Press Enter for a one-time code: ",
		[M_CODE | M_TOKEN] = "pwless token, or press Enter for a "
		    "one-time code: ",
		[M_CODE | M_KEY] = "pwless key, or press Enter for a "
		    "one-time code: ",
		[M_ALL] = "pwless key, or press Enter for a one-time code: ",
	};

	if (o->prompt != NULL)
		return o->prompt;
	return text[o->methods & M_ALL];
}

/*
 * The first answer: PAM_AUTHTOK with use_first_pass or try_first_pass,
 * else one prompt.  What we read is never stored as PAM_AUTHTOK: a key
 * must not reach the modules stacked after us.
 */
static int
get_input(pam_handle_t *pamh, const struct opts *o, char *in, size_t sz)
{
	const void *tok = NULL;

	in[0] = '\0';
	if (o->use_first || o->try_first) {
		if (pam_get_item(pamh, PAM_AUTHTOK, &tok) == PAM_SUCCESS &&
		    tok != NULL)
			return copy_input(in, sz, tok);
		if (o->use_first)
			return PAM_AUTH_ERR;
	}
	return converse(pamh, PAM_PROMPT_ECHO_OFF, first_prompt(o), in, sz);
}

/* Empty, "code", "email" or "sms": a request for a code, by channel. */
static int
word_channel(const char *s, int dflt)
{
	if (s[0] == '\0' || strcmp(s, "code") == 0)
		return dflt;
	if (strcmp(s, "email") == 0)
		return PWL_CH_EMAIL;
	if (strcmp(s, "sms") == 0)
		return PWL_CH_SMS;
	return CH_NONE;
}

static int
ask_channel(pam_handle_t *pamh, int *ch)
{
	char ans[16];
	int r;

	if ((r = converse(pamh, PAM_PROMPT_ECHO_ON, CHANNEL_PROMPT, ans,
	    sizeof(ans))) != PAM_SUCCESS)
		return r;
	*ch = word_channel(ans, PWL_CH_DEFAULT);
	return *ch == CH_NONE ? PAM_AUTH_ERR : PAM_SUCCESS;
}

/* --- requests ----------------------------------------------------------- */

static const char *
get_str(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL ||
	    *(const char *)v == '\0')
		return NULL;
	return v;
}

static int
field_ok(const char *s, size_t max, int required)
{
	size_t n;

	if (s == NULL)
		return !required;
	n = strnlen(s, max + 1);
	return n > 0 && n <= max && pwl_printable(s, n);
}

static int
get_who(pam_handle_t *pamh, struct attempt *a)
{
	const char *user = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	a->status = -1;
	a->method = "none";
	if ((r = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS)
		return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r;
	a->user = user;
	a->service = get_str(pamh, PAM_SERVICE);
	a->rhost = get_str(pamh, PAM_RHOST);
	a->tty = get_str(pamh, PAM_TTY);
	a->ruser = get_str(pamh, PAM_RUSER);
	a->valid = field_ok(a->user, PWL_USER_MAX, 1) &&
	    field_ok(a->service, PWL_SERVICE_MAX, 1) &&
	    field_ok(a->rhost, PWL_RHOST_MAX, 0) &&
	    field_ok(a->tty, PWL_TTY_MAX, 0) &&
	    field_ok(a->ruser, PWL_USER_MAX, 0);
	return PAM_SUCCESS;
}

/* RHOST, or else RUSER and TTY, name the source pwlessd's limits count. */
static void
put_who(struct pwl_wbuf *w, const struct attempt *a, int extra)
{
	pwl_w_str(w, PWL_T_USER, a->user);
	pwl_w_str(w, PWL_T_SERVICE, a->service);
	pwl_w_str(w, PWL_T_RHOST, a->rhost);
	if (extra & WHO_TTY)
		pwl_w_str(w, PWL_T_TTY, a->tty);
	if (extra & WHO_RUSER)
		pwl_w_str(w, PWL_T_RUSER, a->ruser);
}

/*
 * Sends the request in w, wipes it (it may hold a secret) and reads the
 * reply into rep.  Returns the PAM result of the daemon's answer.
 */
static int
ask(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    enum phase ph, uint16_t type, struct pwl_wbuf *w, struct pwl_reply *rep)
{
	struct pwl_msg m;
	char text[PWL_STR_MAX + 1];
	int r;

	if (o->debug && w->err == 0 && pwl_msg_parse(w->p, w->len, 0, &m) == 0)
		log_debug(pamh, "request", type, &m, -1);
	if ((r = w->err) == 0)
		r = pwl_transact(o->socket, o->timeout_ms, type, w->p, w->len,
		    rep);
	else
		pwl_reply_clear(rep);
	explicit_bzero(w->p, w->cap);
	a->err = r;
	a->status = r == 0 ? rep->msg.status : -1;
	if (o->debug && r == 0)
		log_debug(pamh, "reply", type, &rep->msg, a->status);
	log_trouble(pamh, o, type, r, a->status);
	if (a->status == PWL_ST_RATE_LIMITED &&
	    pwl_msg_str(&rep->msg, PWL_T_MESSAGE, text, sizeof(text)) == 0)
		tell(pamh, o, PAM_ERROR_MSG, text);
	return pam_result(o, ph, r, a->status);
}

/*
 * Puts a session token from the reply into the PAM environment.  When
 * libpam cannot store it (out of memory) the login fails: a failure never
 * turns into a success, even one without its token.
 */
static int
keep_token(pam_handle_t *pamh, const struct pwl_reply *rep)
{
	char tok[PWL_SECRET_MAX + 1];
	char env[sizeof(ENV_TOKEN) + PWL_SECRET_MAX + 1];
	char id[PWL_ID_LEN + 1];
	int kind, n, r = PAM_SUCCESS;

	if (pwl_msg_str(&rep->msg, PWL_T_TOKEN, tok, sizeof(tok)) != 0)
		goto out;
	if (pwl_secret_parse(tok, &kind, id) != 0 || kind != PWL_KIND_TOKEN) {
		pam_syslog(pamh, LOG_ERR, "pwlessd sent a malformed session "
		    "token; not exported");
		goto out;
	}
	n = snprintf(env, sizeof(env), "%s=%s", ENV_TOKEN, tok);
	if (n < 0 || (size_t)n >= sizeof(env) ||
	    (r = pam_putenv(pamh, env)) != PAM_SUCCESS) {
		r = PAM_BUF_ERR;
		pam_syslog(pamh, LOG_ERR, "cannot set %s (token id %s) in the "
		    "PAM environment: out of memory; login refused, the token "
		    "expires on its own", ENV_TOKEN, id);
	}
 out:
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(env, sizeof(env));
	return r;
}

/* --- methods ------------------------------------------------------------ */

/* API key (AUTH_KEY) or session token (TOKEN_VERIFY). */
static int
auth_secret(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    const char *s, int kind, struct pwl_reply *rep)
{
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	int key = kind == PWL_KIND_KEY, k, r;

	a->method = key ? "key" : "token";
	if (pwl_secret_parse(s, &k, a->key_id) != 0 || k != kind) {
		a->method = key ? "key (mistyped)" : "token (mistyped)";
		tell(pamh, o, PAM_ERROR_MSG, key ?
		    "That key is mistyped (checksum failed); check it and "
		    "try again." :
		    "That token is mistyped (checksum failed); check it and "
		    "try again.");
		return PAM_AUTH_ERR;
	}
	if (!a->valid)
		return PAM_AUTH_ERR;
	pwl_w_init(&w, buf, sizeof(buf));
	put_who(&w, a, WHO_TTY | WHO_RUSER);
	pwl_w_str(&w, key ? PWL_T_KEY : PWL_T_TOKEN, s);
	if (key && !o->no_token)
		pwl_w_u8(&w, PWL_T_WANT_TOKEN, 1);
	r = ask(pamh, o, a, PH_AUTH, key ? PWL_MSG_AUTH_KEY :
	    PWL_MSG_TOKEN_VERIFY, &w, rep);
	if (r == PAM_SUCCESS && key)
		r = keep_token(pamh, rep);
	return r;
}

static void
drop_pending(UNUSED pam_handle_t *pamh, void *data, UNUSED int status)
{
	if (data != NULL) {
		explicit_bzero(data, sizeof(struct pending));
		free(data);
	}
}

/* Keeps the challenge id so a later attempt can answer with digits. */
static int
save_pending(pam_handle_t *pamh, const struct attempt *a,
    const struct pwl_reply *rep)
{
	struct pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PAM_BUF_ERR;
	if (pwl_msg_str(&rep->msg, PWL_T_CHALLENGE, p->challenge,
	    sizeof(p->challenge)) != 0) {
		pam_syslog(pamh, LOG_ERR, "pwlessd sent no challenge id; "
		    "install matching versions of pam_pwless and pwlessd");
		drop_pending(pamh, p, 0);
		return PAM_SYSTEM_ERR;
	}
	pwl_strlcpy(p->user, a->user, sizeof(p->user));
	if (pam_set_data(pamh, DATA_PENDING, p, drop_pending) != PAM_SUCCESS) {
		drop_pending(pamh, p, 0);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

static int
is_code(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= PWL_CODE_MAX && s[n] == '\0';
}

/* CODE_ANSWER for the challenge kept on this handle. */
static int
code_answer(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    const char *code, struct pwl_reply *rep)
{
	const struct pending *p;
	const void *v = NULL;
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	int r;

	a->method = "code";
	if (!a->valid || !is_code(code))
		return PAM_AUTH_ERR;
	a->method = "code (none pending)";
	if (pam_get_data(pamh, DATA_PENDING, &v) != PAM_SUCCESS || v == NULL)
		return PAM_AUTH_ERR;
	p = v;
	if (strcmp(p->user, a->user) != 0)
		return PAM_AUTH_ERR;
	a->method = "code";
	pwl_w_init(&w, buf, sizeof(buf));
	put_who(&w, a, WHO_TTY | WHO_RUSER);
	pwl_w_str(&w, PWL_T_CHALLENGE, p->challenge);
	pwl_w_str(&w, PWL_T_CODE, code);
	if (!o->no_token)
		pwl_w_u8(&w, PWL_T_WANT_TOKEN, 1);
	r = ask(pamh, o, a, PH_AUTH, PWL_MSG_CODE_ANSWER, &w, rep);
	if (r == PAM_SUCCESS || a->status == PWL_ST_EXPIRED)
		(void)pam_set_data(pamh, DATA_PENDING, NULL, NULL);
	if (r == PAM_SUCCESS)
		r = keep_token(pamh, rep);
	return r;
}

/*
 * Refusals that depend on the account are hidden behind the usual code
 * prompt, so a caller cannot tell them from a code on its way.
 */
static int
account_refusal(const struct attempt *a)
{
	if (!a->valid)
		return 1;
	if (a->err != 0)
		return 0;
	switch (a->status) {
	case PWL_ST_DENIED:
	case PWL_ST_UNKNOWN_USER:
	case PWL_ST_EXPIRED:
	case PWL_ST_NO_FACTOR:
	case PWL_ST_DISABLED:
		return 1;
	default:
		return 0;
	}
}

/* Tells where the code went; rep is NULL when nothing was sent. */
static void
tell_sent(pam_handle_t *pamh, const struct opts *o, int ch,
    const struct pwl_reply *rep)
{
	char text[PAM_MAX_MSG_SIZE], masked[PWL_EMAIL_MAX + 1], valid[64] = "";
	const char *dest = "your confirmed email or phone";
	uint64_t ttl;

	if (ch == PWL_CH_EMAIL)
		dest = "your confirmed email address";
	else if (ch == PWL_CH_SMS)
		dest = "your confirmed phone";
	if (rep != NULL && o->show_dest &&
	    pwl_msg_str(&rep->msg, PWL_T_MASKED, masked, sizeof(masked)) == 0)
		dest = masked;
	if (rep != NULL && pwl_msg_u64(&rep->msg, PWL_T_TTL, &ttl) == 0 &&
	    ttl > 0)
		snprintf(valid, sizeof(valid), " It is valid for %llu %s.",
		    (unsigned long long)(ttl % 60 == 0 ? ttl / 60 : ttl),
		    ttl % 60 != 0 ? "seconds" : ttl == 60 ? "minute" :
		    "minutes");
	snprintf(text, sizeof(text), "A one-time code was sent to %s.%s",
	    dest, valid);
	tell(pamh, o, PAM_TEXT_INFO, text);
}

/* CODE_START; PAM_SUCCESS when a challenge is now kept on the handle. */
static int
code_start(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    int ch, struct pwl_reply *rep)
{
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	int r;

	if (!a->valid)
		return PAM_AUTH_ERR;
	pwl_w_init(&w, buf, sizeof(buf));
	put_who(&w, a, WHO_TTY | WHO_RUSER);
	pwl_w_u8(&w, PWL_T_CHANNEL, (uint8_t)ch);
	if ((r = ask(pamh, o, a, PH_AUTH, PWL_MSG_CODE_START, &w, rep)) !=
	    PAM_SUCCESS)
		return r;
	return save_pending(pamh, a, rep);
}

/* Sends a code, tells the user, and asks for it at a second prompt. */
static int
code_flow(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    int ch, struct pwl_reply *rep)
{
	char code[INPUT_MAX];
	int r, started;

	a->method = "code";
	if (ch == CH_ASK && (r = ask_channel(pamh, &ch)) != PAM_SUCCESS)
		return r;
	started = code_start(pamh, o, a, ch, rep);
	if (started != PAM_SUCCESS && !account_refusal(a))
		return started;
	tell_sent(pamh, o, ch, started == PAM_SUCCESS ? rep : NULL);
	pwl_reply_clear(rep);
	r = converse(pamh, PAM_PROMPT_ECHO_OFF, CODE_PROMPT, code,
	    sizeof(code));
	if (started != PAM_SUCCESS)
		r = started;
	else if (r == PAM_SUCCESS && code[0] != '\0')
		r = code_answer(pamh, o, a, code, rep);
	else
		r = PAM_AUTH_ERR;	/* challenge kept for the next try */
	explicit_bzero(code, sizeof(code));
	return r;
}

/* One answer, routed by its shape. */
static int
route(pam_handle_t *pamh, const struct opts *o, struct attempt *a,
    const char *in, struct pwl_reply *rep)
{
	int kind = pwl_secret_kind(in), ch;

	if (kind == PWL_KIND_KEY && (o->methods & M_KEY))
		return auth_secret(pamh, o, a, in, kind, rep);
	if (kind == PWL_KIND_TOKEN && (o->methods & M_TOKEN))
		return auth_secret(pamh, o, a, in, kind, rep);
	if (o->methods & M_CODE) {
		if ((ch = word_channel(in, o->channel)) != CH_NONE)
			return code_flow(pamh, o, a, ch, rep);
		if (is_code(in))
			return code_answer(pamh, o, a, in, rep);
	}
	a->method = kind == PWL_KIND_KEY ? "key (not accepted here)" :
	    kind == PWL_KIND_TOKEN ? "token (not accepted here)" :
	    "unrecognised";
	return PAM_AUTH_ERR;
}

/* --- entry point bodies ------------------------------------------------- */

static int
do_auth(pam_handle_t *pamh, const struct opts *o)
{
	struct attempt a;
	struct pwl_reply rep;
	char in[INPUT_MAX];
	int r;

	in[0] = '\0';
	if (o->methods == 0) {
		pam_syslog(pamh, LOG_ERR, "methods= names no known method; "
		    "refusing everyone (use methods=key,code,token)");
		return PAM_SERVICE_ERR;
	}
	if ((r = get_who(pamh, &a)) != PAM_SUCCESS)
		goto out;
	if ((r = get_input(pamh, o, in, sizeof(in))) != PAM_SUCCESS)
		goto out;
	r = route(pamh, o, &a, in, &rep);
	/* Success only ever comes from the daemon's OK. */
	if (r == PAM_SUCCESS && (a.err != 0 || a.status != PWL_ST_OK))
		r = PAM_AUTH_ERR;
 out:
	explicit_bzero(in, sizeof(in));
	pwl_reply_clear(&rep);
	log_attempt(pamh, &a, r);
	return r;
}

static int
do_acct(pam_handle_t *pamh, const struct opts *o)
{
	struct attempt a;
	struct pwl_reply rep;
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	int r;

	if ((r = get_who(pamh, &a)) != PAM_SUCCESS)
		return r;
	a.method = "account";
	if (!field_ok(a.user, PWL_USER_MAX, 1))
		r = pam_result(o, PH_ACCT, 0, PWL_ST_UNKNOWN_USER);
	else {
		pwl_w_init(&w, buf, sizeof(buf));
		pwl_w_str(&w, PWL_T_USER, a.user);
		r = ask(pamh, o, &a, PH_ACCT, PWL_MSG_ACCT_CHECK, &w, &rep);
		pwl_reply_clear(&rep);
	}
	if (r != PAM_SUCCESS || o->debug)
		log_attempt(pamh, &a, r);
	return r;
}

/* Revokes the session token of this login; the outcome is only logged. */
static int
do_close(pam_handle_t *pamh, const struct opts *o)
{
	struct attempt a;
	struct pwl_reply rep;
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	char tok[PWL_SECRET_MAX + 1];
	const char *env;
	int kind;

	memset(&a, 0, sizeof(a));
	a.method = "session_close";
	if ((env = pam_getenv(pamh, ENV_TOKEN)) == NULL)
		return PAM_SUCCESS;
	if (copy_input(tok, sizeof(tok), env) != PAM_SUCCESS ||
	    pwl_secret_parse(tok, &kind, a.key_id) != 0 ||
	    kind != PWL_KIND_TOKEN) {
		pam_syslog(pamh, LOG_NOTICE, "%s is malformed; not revoked",
		    ENV_TOKEN);
		goto out;
	}
	(void)pam_putenv(pamh, ENV_TOKEN);	/* env is gone from here */
	pwl_w_init(&w, buf, sizeof(buf));
	pwl_w_str(&w, PWL_T_TOKEN, tok);
	if (ask(pamh, o, &a, PH_AUTH, PWL_MSG_SESSION_CLOSE, &w, &rep) !=
	    PAM_SUCCESS)
		pam_syslog(pamh, LOG_NOTICE, "session token %s not revoked "
		    "(%s); it expires on its own", a.key_id, a.err != 0 ?
		    pwl_strerror(a.err) : pwl_status_name((uint16_t)a.status));
	pwl_reply_clear(&rep);
 out:
	explicit_bzero(tok, sizeof(tok));
	return PAM_SUCCESS;
}

/* --- PAM entry points --------------------------------------------------- */

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct opts o;

	(void)pam_fail_delay(pamh, FAIL_DELAY_US);
	parse_opts(pamh, flags, argc, argv, &o);
	return do_auth(pamh, &o);
}

/* Credentials are the daemon's business; auth-only modules succeed here. */
int
pam_sm_setcred(UNUSED pam_handle_t *pamh, UNUSED int flags,
    UNUSED int argc, UNUSED const char **argv)
{
	return PAM_SUCCESS;
}

int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct opts o;

	parse_opts(pamh, flags, argc, argv, &o);
	return do_acct(pamh, &o);
}

int
pam_sm_open_session(UNUSED pam_handle_t *pamh, UNUSED int flags,
    UNUSED int argc, UNUSED const char **argv)
{
	return PAM_SUCCESS;
}

int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct opts o;

	parse_opts(pamh, flags, argc, argv, &o);
	return do_close(pamh, &o);
}

/*
 * pwless credentials are changed with "pwless key rotate", not passwd.
 * PAM_IGNORE keeps a "password" line naming this module from breaking
 * passwd, and cannot make a change succeed: libpam fails a stack in
 * which every module ignores.
 */
int
pam_sm_chauthtok(UNUSED pam_handle_t *pamh, UNUSED int flags,
    UNUSED int argc, UNUSED const char **argv)
{
	return PAM_IGNORE;
}
