/*
 * fuzz_module_reply.c: libFuzzer harness for the PAM module's handling of
 * daemon replies.  Real libpam loads an instrumented pam_pwless .so (kept
 * mapped so its coverage counters stay valid) and talks to a fake daemon,
 * a thread on a Unix socket, that answers each request with fuzz input.
 *
 * Input: scenario byte, options byte, then one record per request:
 *   flags u8 | len u16 BE | [12 header bytes if flags & 1] | body[len]
 * scenario: bits 0-2 the first answer (key, token, "", email, sms, code,
 * digits, mistyped key), bit 3 a second try with the digits on the same
 * handle, bit 4 digits (else nothing) at the code prompt, bits 5-6 the
 * channel answer, bit 7 then acct, open and close session.  options: bits
 * 0-4 the service file (debug, no_token, show_destination, ignore_*,
 * channel=ask), bit 5 PAM_SILENT, bits 6-7 user and rhost choices.
 * flags & 1: the header comes from the input, else a correct one (minor
 * version = flags >> 4).  When the input runs out the daemon hangs up.
 *
 * Checks: a pam call succeeds only if every reply it got was a well-formed
 * frame for its request with status OK; PWLESS_TOKEN is exactly the token
 * the daemon sent; no key or token reaches the log or the user; requests
 * are well-formed; what the user is shown is printable.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "pwless/proto.h"
#include "keyfmt.h"

#define CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

#define NSVC		32		/* service files: option bits */
#define MAX_XCH		16		/* requests in one input */
#define LOG_MAX		2048
#define CODE		"12345678"
#define SECRET_AT	(PWL_PREFIX_LEN + PWL_ID_LEN + 1) /* in a key */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
void	__syslog_chk(int, int, const char *, ...);
void	__vsyslog_chk(int, int, const char *, va_list);
void	syslog(int, const char *, ...);
void	vsyslog(int, const char *, va_list);

/* One request the fake daemon served and what it answered. */
struct xch {
	uint16_t	 type;		/* request type */
	int		 ok;		/* well-formed frame, same id, OK */
	char		 token[PWL_SECRET_MAX + 1]; /* TOKEN in an ok reply */
};

/* Shared with the daemon thread, under lock. */
static struct {
	pthread_mutex_t	 lock;
	const uint8_t	*in;		/* reply records */
	size_t		 left;
	struct xch	 x[MAX_XCH];
	size_t		 n;
} srv = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, { { 0, 0, "" } }, 0 };

static char	dir[PATH_MAX];		/* temp dir: socket, pam.d */
static char	sock[PATH_MAX];
static char	confdir[PATH_MAX + 8];	/* dir/pam.d */
static char	key[PWL_KEY_LEN + 1], token[PWL_KEY_LEN + 1];
static char	typo[PWL_KEY_LEN + 1];
static int	lfd = -1;
static int	in_has_secret;		/* the input itself holds key/token */

/* --- the log and the conversation, both checked for secrets --------------- */

static void
no_secret(const char *s)
{
	if (in_has_secret)
		return;
	CHECK(strstr(s, key + SECRET_AT) == NULL);
	CHECK(strstr(s, token + SECRET_AT) == NULL);
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	char line[LOG_MAX];

	(void)pri;
	vsnprintf(line, sizeof(line), fmt, ap);
	no_secret(line);
	if (getenv("PWL_FUZZ_LOG") != NULL)
		fprintf(stderr, "syslog: %s\n", line);
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(pri, fmt, ap);
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

struct script {
	const char	*first;		/* answer to the first prompt */
	const char	*channel;	/* to "email or sms?" */
	const char	*code;		/* to "One-time code: " */
};

static const char *
answer(const struct script *s, const struct pam_message *m)
{
	if (strncmp(m->msg, "Send the code", 13) == 0)
		return s->channel;
	if (strncmp(m->msg, "One-time code", 13) == 0)
		return s->code;
	return s->first;
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r;
	int i;

	*resp = NULL;
	CHECK(n > 0 && n <= PAM_MAX_NUM_MSG);
	CHECK((r = calloc((size_t)n, sizeof(*r))) != NULL);
	for (i = 0; i < n; i++) {
		CHECK(msg[i]->msg != NULL);
		CHECK(pwl_printable(msg[i]->msg, strlen(msg[i]->msg)));
		no_secret(msg[i]->msg);
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			CHECK((r[i].resp = strdup(answer(data, msg[i]))) !=
			    NULL);
		else
			CHECK(msg[i]->msg_style == PAM_ERROR_MSG ||
			    msg[i]->msg_style == PAM_TEXT_INFO);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void
no_delay(int status, unsigned int usec, void *data)
{
	(void)status;
	(void)usec;
	(void)data;
}

/* --- the fake daemon ------------------------------------------------------ */

static int
read_n(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = recv(fd, p, n, 0)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads the module's request; it must be well-formed. */
static void
read_request(int fd, struct pwl_hdr *h)
{
	static uint8_t body[PWL_REQ_MAX];
	uint8_t hb[PWL_HDR_LEN];
	struct pwl_msg m;

	CHECK(read_n(fd, hb, sizeof(hb)) == 0);
	CHECK(pwl_hdr_decode(hb, PWL_REQ_MAX, h) == 0);
	CHECK(h->minor == PWL_PROTO_MINOR);
	CHECK(read_n(fd, body, h->body_len) == 0);
	CHECK(pwl_msg_parse(body, h->body_len, 0, &m) == 0);
	switch (h->type) {
	case PWL_MSG_AUTH_KEY:
	case PWL_MSG_CODE_START:
	case PWL_MSG_CODE_ANSWER:
		CHECK(pwl_msg_get(&m, PWL_T_USER) != NULL);
		CHECK(pwl_msg_get(&m, PWL_T_SERVICE) != NULL);
		break;
	case PWL_MSG_TOKEN_VERIFY:
	case PWL_MSG_SESSION_CLOSE:
		CHECK(pwl_msg_get(&m, PWL_T_TOKEN) != NULL);
		break;
	case PWL_MSG_ACCT_CHECK:
		CHECK(pwl_msg_get(&m, PWL_T_USER) != NULL);
		break;
	default:
		CHECK(!"module sent an unexpected request type");
	}
}

/* Judges a reply the way the contract defines a good one. */
static void
judge(struct xch *x, const struct pwl_hdr *req, const uint8_t *hb,
    const uint8_t *body, size_t sent)
{
	struct pwl_hdr h;
	struct pwl_msg m;

	x->type = req->type;
	x->ok = 0;
	x->token[0] = '\0';
	if (pwl_hdr_decode(hb, PWL_RESP_MAX, &h) != 0 ||
	    h.type != req->type || h.req_id != req->req_id ||
	    h.body_len > sent ||
	    pwl_msg_parse(body, h.body_len, 1, &m) != 0 ||
	    m.status != PWL_ST_OK)
		return;
	x->ok = 1;
	(void)pwl_msg_str(&m, PWL_T_TOKEN, x->token, sizeof(x->token));
}

/* Takes the next reply record; 0 when the input is used up. */
static int
next_reply(const struct pwl_hdr *req, uint8_t hb[PWL_HDR_LEN],
    const uint8_t **body, size_t *len)
{
	struct pwl_hdr h;
	uint8_t flags;

	if (srv.left < 3)
		return 0;
	flags = srv.in[0];
	*len = (size_t)srv.in[1] << 8 | srv.in[2];
	srv.in += 3;
	srv.left -= 3;
	if (flags & 1) {
		if (srv.left < PWL_HDR_LEN)
			return 0;
		memcpy(hb, srv.in, PWL_HDR_LEN);
		srv.in += PWL_HDR_LEN;
		srv.left -= PWL_HDR_LEN;
	}
	if (*len > srv.left)
		*len = srv.left;
	*body = srv.in;
	srv.in += *len;
	srv.left -= *len;
	if (!(flags & 1)) {
		h = *req;
		h.minor = (uint8_t)(flags >> 4);
		h.body_len = (uint32_t)*len;
		pwl_hdr_encode(&h, hb);
	}
	return 1;
}

static void
serve_one(int fd)
{
	static uint8_t out[PWL_HDR_LEN + UINT16_MAX];
	struct pwl_hdr req;
	const uint8_t *body = NULL;
	size_t len = 0;
	int have;

	read_request(fd, &req);
	pthread_mutex_lock(&srv.lock);
	CHECK(srv.n < MAX_XCH);
	have = next_reply(&req, out, &body, &len);
	if (have) {
		judge(&srv.x[srv.n], &req, out, body, len);
		/* the input is freed once the module returns */
		memcpy(out + PWL_HDR_LEN, body, len);
	} else
		memset(&srv.x[srv.n], 0, sizeof(srv.x[0]));
	srv.x[srv.n].type = req.type;
	srv.n++;
	pthread_mutex_unlock(&srv.lock);
	/* the module may have hung up already: errors are fine */
	if (have)
		(void)send(fd, out, PWL_HDR_LEN + len, MSG_NOSIGNAL);
}

static void *
serve(void *arg)
{
	struct timeval tv = { 5, 0 };
	int fd;

	(void)arg;
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			CHECK(errno == EINTR || errno == ECONNABORTED);
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

/* --- setup ---------------------------------------------------------------- */

static void
cleanup(void)
{
	char p[PATH_MAX + 16];
	int i;

	for (i = 0; i < NSVC; i++) {
		snprintf(p, sizeof(p), "%s/pam.d/s%02d", dir, i);
		unlink(p);
	}
	rmdir(confdir);
	unlink(sock);
	rmdir(dir);
}

/* The instrumented module: PWL_FUZZ_MODULE, else next to this binary. */
static void
module_path(char *out, size_t sz)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (getenv("PWL_FUZZ_MODULE") != NULL) {
		snprintf(out, sz, "%s", getenv("PWL_FUZZ_MODULE"));
		return;
	}
	CHECK((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0);
	exe[n] = '\0';
	CHECK((slash = strrchr(exe, '/')) != NULL);
	*slash = '\0';
	snprintf(out, sz, "%s/pam_pwless_fuzz.so", exe);
}

/* Service sNN: bit 0 debug, 1 no_token, 2 show_destination, 3 ignore_*, */
/* bit 4 channel=ask. */
static void
write_services(const char *mod)
{
	char p[PATH_MAX + 16], opts[256];
	FILE *f;
	int i, k;
	static const char *const names[] = { "debug", "no_token",
	    "show_destination", "ignore_unknown_user ignore_unavailable",
	    "channel=ask" };

	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	CHECK(mkdir(confdir, 0755) == 0);
	for (i = 0; i < NSVC; i++) {
		opts[0] = '\0';
		for (k = 0; k < 5; k++)
			if (i & (1 << k))
				snprintf(opts + strlen(opts),
				    sizeof(opts) - strlen(opts), " %s",
				    names[k]);
		snprintf(p, sizeof(p), "%s/pam.d/s%02d", dir, i);
		CHECK((f = fopen(p, "w")) != NULL);
		for (k = 0; k < 3; k++)
			fprintf(f, "%s required %s socket=%s timeout=1%s\n",
			    k == 0 ? "auth" : k == 1 ? "account" : "session",
			    mod, sock, opts);
		CHECK(fclose(f) == 0);
	}
}

static void
make_secrets(void)
{
	CHECK(pwl_secret_compose(PWL_KIND_KEY, "K3yId00042",
	    "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tXY", key) == 0);
	CHECK(pwl_secret_compose(PWL_KIND_TOKEN, "T0kenId007",
	    "T0k3nT0k3nT0k3nT0k3nT0k3nT0k3nQZ", token) == 0);
	memcpy(typo, key, sizeof(typo));
	typo[20] = typo[20] == 'a' ? 'b' : 'a';
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sun;
	char mod[PATH_MAX];
	pthread_t t;

	(void)argc;
	(void)argv;
	make_secrets();
	module_path(mod, sizeof(mod));
	/* one reference for the whole run: pam_end's dlclose keeps it */
	if (dlopen(mod, RTLD_NOW | RTLD_NODELETE) == NULL) {
		fprintf(stderr, "fuzz_module_reply: %s\n", dlerror());
		exit(1);
	}
	snprintf(dir, sizeof(dir), "/tmp/pwlfuzz-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	atexit(cleanup);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(strlen(sock) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock, strlen(sock));
	CHECK((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	CHECK(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(lfd, 16) == 0);
	write_services(mod);
	CHECK(pthread_create(&t, NULL, serve, NULL) == 0);
	return 0;
}

/* --- one input ------------------------------------------------------------ */

static size_t
served(void)
{
	size_t n;

	pthread_mutex_lock(&srv.lock);
	n = srv.n;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* Success only from OK replies, the last one to a credential request. */
static void
check_auth(pam_handle_t *pamh, int r, size_t from, size_t to)
{
	const struct xch *last;
	const char *env;
	char id[PWL_ID_LEN + 1];
	int kind;
	size_t i;

	if (r != PAM_SUCCESS)
		return;
	CHECK(to > from);
	last = &srv.x[to - 1];
	for (i = from; i < to; i++)
		CHECK(srv.x[i].ok);
	CHECK(last->type == PWL_MSG_AUTH_KEY ||
	    last->type == PWL_MSG_TOKEN_VERIFY ||
	    last->type == PWL_MSG_CODE_ANSWER);
	env = pam_getenv(pamh, "PWLESS_TOKEN");
	if (last->type != PWL_MSG_TOKEN_VERIFY &&
	    pwl_secret_parse(last->token, &kind, id) == 0 &&
	    kind == PWL_KIND_TOKEN)
		CHECK(env != NULL && strcmp(env, last->token) == 0);
}

/* PWLESS_TOKEN only ever holds a well-formed token a daemon sent. */
static void
check_env(pam_handle_t *pamh, size_t to)
{
	const char *env = pam_getenv(pamh, "PWLESS_TOKEN");
	char id[PWL_ID_LEN + 1];
	int kind;
	size_t i;

	if (env == NULL)
		return;
	CHECK(pwl_secret_parse(env, &kind, id) == 0 && kind == PWL_KIND_TOKEN);
	for (i = 0; i < to; i++)
		if (srv.x[i].ok && strcmp(srv.x[i].token, env) == 0)
			return;
	CHECK(!"PWLESS_TOKEN was never sent by the daemon");
}

static void
after_auth(pam_handle_t *pamh, int flags)
{
	size_t from;
	int r;

	from = served();
	r = pam_acct_mgmt(pamh, flags);
	if (r == PAM_SUCCESS)
		CHECK(served() == from + 1 && srv.x[from].ok &&
		    srv.x[from].type == PWL_MSG_ACCT_CHECK);
	CHECK(pam_open_session(pamh, flags) == PAM_SUCCESS);
	CHECK(pam_close_session(pamh, flags) == PAM_SUCCESS);
	CHECK(pam_getenv(pamh, "PWLESS_TOKEN") == NULL);
}

static void
run(uint8_t sc, uint8_t op)
{
	static char longuser[301];
	const char *firsts[8] = { key, token, "", "email", "sms", "code",
	    CODE, typo };
	const char *chans[4] = { "email", "sms", "fax", "" };
	struct script s = { firsts[sc & 7], chans[(sc >> 5) & 3],
	    (sc & 0x10) ? CODE : "" };
	struct pam_conv pc = { conv, &s };
	pam_handle_t *pamh = NULL;
	const char *user = "alice";
	char svc[8];
	size_t from;
	int flags = (op & 0x20) ? PAM_SILENT : 0, r;

	memset(longuser, 'u', sizeof(longuser) - 1);
	if ((op >> 6) == 2)
		user = longuser;
	else if ((op >> 6) == 3)
		user = "ev\x1b[2Jil";
	snprintf(svc, sizeof(svc), "s%02d", op & (NSVC - 1));
	CHECK(pam_start_confdir(svc, user, &pc, confdir, &pamh) == PAM_SUCCESS);
	CHECK(pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay) ==
	    PAM_SUCCESS);
	if ((op >> 6) == 1)
		CHECK(pam_set_item(pamh, PAM_RHOST, "203.0.113.9") ==
		    PAM_SUCCESS);
	r = pam_authenticate(pamh, flags);
	check_auth(pamh, r, 0, served());
	if (sc & 0x08) {
		/* sshd's next try on the same handle: the code */
		s.first = CODE;
		from = served();
		r = pam_authenticate(pamh, flags);
		check_auth(pamh, r, from, served());
	}
	check_env(pamh, served());
	if (sc & 0x80)
		after_auth(pamh, flags);
	pam_end(pamh, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	in_has_secret = memmem(data, size, key + SECRET_AT, PWL_SECRET_LEN) !=
	    NULL || memmem(data, size, token + SECRET_AT, PWL_SECRET_LEN) != NULL;
	pthread_mutex_lock(&srv.lock);
	srv.in = data + 2;
	srv.left = size - 2;
	srv.n = 0;
	pthread_mutex_unlock(&srv.lock);
	run(data[0], data[1]);
	return 0;
}
