/*
 * cmd_token.c: "pwless login" (an API key on stdin, a token on stdout)
 * and "pwless token verify|list|revoke".  Keys and tokens come from
 * stdin, never from argv, and are wiped once sent.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "keyfmt.h"
#include "util.h"
#include "pwless.h"

/*
 * Reads the first line of stdin into out with read(2), so no stdio
 * buffer keeps a copy; on a terminal, prompts and turns echo off.
 * Surrounding blanks are dropped.  Returns 0, or -1 after saying why.
 */
static int
read_line(const char *prompt, char *out, size_t sz)
{
	struct termios old, quiet;
	size_t n = 0, skip;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	ssize_t r;
	char ch;

	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	if (tty)
		fprintf(stderr, "%s", prompt);
	for (;;) {
		r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n + 1 < sz)
			out[n] = ch;
		n++;
	}
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	ch = 0;
	if (n >= sz) {
		explicit_bzero(out, sz);
		cli_error("the line on standard input is too long for a key "
		    "or token");
		return -1;
	}
	out[n] = '\0';
	while (n > 0 && strchr(" \t\r", out[n - 1]) != NULL)
		out[--n] = '\0';
	skip = strspn(out, " \t");
	memmove(out, out + skip, n - skip + 1);
	return 0;
}

/* Reads a secret of kind from stdin; 0, or -1 after saying what is wrong. */
int
cli_read_secret(int kind, char out[PWL_SECRET_MAX + 1])
{
	const char *what = kind == PWL_KIND_KEY ? "an API key (pwl_...)" :
	    "a token (pwt_...)";
	char id[PWL_ID_LEN + 1];
	int claim, got;

	if (read_line(kind == PWL_KIND_KEY ? "API key: " : "Token: ", out,
	    PWL_SECRET_MAX + 1) != 0)
		return -1;
	if (out[0] == '\0') {
		cli_error("standard input is empty; give %s on it, e.g. "
		    "'pwless %s < FILE'", what, kind == PWL_KIND_KEY ?
		    "login" : "token verify");
		return -1;
	}
	claim = pwl_secret_kind(out);
	if (claim == kind && pwl_secret_parse(out, &got, id) == 0)
		return 0;
	if (claim == kind)
		cli_error("that %s is mistyped (its length or checksum is "
		    "wrong); check it", kind == PWL_KIND_KEY ? "key" : "token");
	else
		cli_error("standard input does not hold %s", what);
	explicit_bzero(out, PWL_SECRET_MAX + 1);
	return -1;
}

/* "Services: all" or the list, for the details on stderr. */
static const char *
services_text(const struct pwl_msg *m, char *buf, size_t sz)
{
	if (*cli_str(m, PWL_T_SERVICES, buf, sz) == '\0')
		pwl_strlcpy(buf, "all services", sz);
	return buf;
}

static const char *
login_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_DENIED:
		return "that is not a valid, live API key of yours; check "
		    "it with 'pwless key list'";
	case PWL_ST_NOT_PERMITTED:
		return "pwlessd does not allow this token (why follows)";
	case PWL_ST_LIMIT:
		return "the token would be over a limit (lifetime or number "
		    "of tokens); ask for a shorter --ttl or revoke tokens";
	}
	return NULL;
}

/* Prints the token of a TOKEN_ISSUE reply alone on stdout. */
static int
show_token(const struct pwl_msg *m)
{
	char tok[PWL_SECRET_MAX + 1], id[PWL_KEYID_MAX + 1], when[64];
	char svc[PWL_STR_MAX + 1];
	int r;

	if (pwl_msg_str(m, PWL_T_TOKEN, tok, sizeof(tok)) != 0) {
		cli_error("pwlessd's reply carries no token; check that pwless "
		    "and pwlessd are the same version");
		return CLI_EXIT_REFUSED;
	}
	r = cli_print_secret(tok);
	explicit_bzero(tok, sizeof(tok));
	cli_str(m, PWL_T_KEY_ID, id, sizeof(id));
	if (r != 0) {
		cli_error("cannot write the token to standard output (%s); "
		    "revoke it with 'pwless token revoke %s'", strerror(errno),
		    id);
		return CLI_EXIT_REFUSED;
	}
	cli_fmt_time(cli_u64(m, PWL_T_EXPIRES), "never", when, sizeof(when));
	fprintf(stderr, "Token %s works until %s for %s.\n", id, when,
	    services_text(m, svc, sizeof(svc)));
	return CLI_EXIT_OK;
}

int
cmd_login(struct cli *c, int argc, char **argv)
{
	enum { O_TTL, O_SERVICES };
	struct cli_opt opts[] = { { "ttl", 1, NULL }, { "services", 1, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "get a token", NULL, NULL, 0, 0 };
	char key[PWL_SECRET_MAX + 1];
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	uint64_t ttl = 0;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	if ((opts[O_TTL].val != NULL && !cli_duration_arg("ttl",
	    opts[O_TTL].val, 0, &ttl)) || (opts[O_SERVICES].val != NULL &&
	    !cli_services_arg(opts[O_SERVICES].val)))
		return CLI_EXIT_REFUSED;
	if (cli_read_secret(PWL_KIND_KEY, key) != 0)
		return CLI_EXIT_REFUSED;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_KEY, key);
	explicit_bzero(key, sizeof(key));
	if (opts[O_TTL].val != NULL)
		pwl_w_u64(&w, PWL_T_LIFETIME, ttl);
	pwl_w_str(&w, PWL_T_SERVICES, opts[O_SERVICES].val);
	r = cli_call_hint(c, &op, PWL_MSG_TOKEN_ISSUE, &w, &rep, login_hint);
	explicit_bzero(req, sizeof(req));
	if (r == 0)
		r = show_token(&rep.msg);
	pwl_reply_clear(&rep);
	return r;
}

static const char *
verify_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_DENIED:
	case PWL_ST_UNKNOWN_USER:
		return "the token is not valid: unknown, revoked, not yours, "
		    "or not for this service";
	case PWL_ST_EXPIRED:
		return "the token has expired; get a new one with 'pwless "
		    "login'";
	case PWL_ST_NOT_PERMITTED:
		return "you may check only your own tokens; checking others' "
		    "needs root, trusted_uids or [tokens] verify_group";
	}
	return NULL;
}

static void
print_verified(const struct pwl_msg *m, int json)
{
	char user[PWL_USER_MAX + 1], id[PWL_KEYID_MAX + 1], kind[32];
	char svc[PWL_STR_MAX + 1], when[64];
	struct cli_json j;

	if (json) {
		cli_json_begin(&j, stdout);
		cli_jtag(&j, "user", m, PWL_T_USER);
		cli_ju64(&j, "expires", cli_u64(m, PWL_T_EXPIRES));
		cli_jtag(&j, "token_id", m, PWL_T_KEY_ID);
		cli_jtag(&j, "kind", m, PWL_T_KIND);
		cli_jtag(&j, "services", m, PWL_T_SERVICES);
		cli_json_end(&j);
		fputc('\n', stdout);
		return;
	}
	cli_fmt_time(cli_u64(m, PWL_T_EXPIRES), "never", when, sizeof(when));
	printf("user:     %s\nexpires:  %s\ntoken id: %s\nkind:     %s\n"
	    "services: %s\n", cli_str(m, PWL_T_USER, user, sizeof(user)), when,
	    cli_str(m, PWL_T_KEY_ID, id, sizeof(id)),
	    cli_str(m, PWL_T_KIND, kind, sizeof(kind)),
	    services_text(m, svc, sizeof(svc)));
}

int
cmd_token_verify(struct cli *c, int argc, char **argv)
{
	enum { O_SERVICE, O_JSON };
	struct cli_opt opts[] = { { "service", 1, NULL }, { "json", 0, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "accept the token", NULL, NULL, 0, 0 };
	const char *svc;
	char tok[PWL_SECRET_MAX + 1];
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	svc = opts[O_SERVICE].val;
	if (svc != NULL && (!cli_check_text("--service", svc,
	    PWL_SERVICE_MAX) || strchr(svc, ',') != NULL))
		return CLI_EXIT_REFUSED;
	if (cli_read_secret(PWL_KIND_TOKEN, tok) != 0)
		return CLI_EXIT_REFUSED;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_SERVICE, svc);
	pwl_w_str(&w, PWL_T_TOKEN, tok);
	explicit_bzero(tok, sizeof(tok));
	r = cli_call_hint(c, &op, PWL_MSG_TOKEN_VERIFY, &w, &rep,
	    verify_hint);
	explicit_bzero(req, sizeof(req));
	if (r == 0)
		print_verified(&rep.msg, opts[O_JSON].val != NULL);
	pwl_reply_clear(&rep);
	return r;
}

/* "sshd from 192.0.2.7 on ssh", or "pwless login" for API tokens. */
static void
token_origin(const struct pwl_msg *it, char *out, size_t sz)
{
	char svc[PWL_SERVICE_MAX + 1], rhost[PWL_RHOST_MAX + 1];
	char tty[PWL_TTY_MAX + 1];

	cli_str(it, PWL_T_SERVICE, svc, sizeof(svc));
	cli_str(it, PWL_T_RHOST, rhost, sizeof(rhost));
	cli_str(it, PWL_T_TTY, tty, sizeof(tty));
	if (svc[0] == '\0') {
		pwl_strlcpy(out, "pwless login", sz);
		return;
	}
	snprintf(out, sz, "%s%s%s%s%s", svc, rhost[0] ? " from " : "", rhost,
	    tty[0] ? " on " : "", tty);
}

static void
token_cells(const struct pwl_msg *it, cli_row row)
{
	cli_str(it, PWL_T_KEY_ID, row[0], CLI_CELL_MAX);
	cli_str(it, PWL_T_KIND, row[1], CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_CREATED), "-", row[2], CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_EXPIRES), "never", row[3],
	    CLI_CELL_MAX);
	if (*cli_str(it, PWL_T_SERVICES, row[4], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[4], "all", CLI_CELL_MAX);
	token_origin(it, row[5], CLI_CELL_MAX);
}

static void
token_json(struct cli_json *j, const struct pwl_msg *it)
{
	cli_jtag(j, "token_id", it, PWL_T_KEY_ID);
	cli_jtag(j, "kind", it, PWL_T_KIND);
	cli_ju64(j, "created", cli_u64(it, PWL_T_CREATED));
	cli_ju64(j, "expires", cli_u64(it, PWL_T_EXPIRES));
	cli_jtag(j, "services", it, PWL_T_SERVICES);
	cli_jtag(j, "service", it, PWL_T_SERVICE);
	cli_jtag(j, "rhost", it, PWL_T_RHOST);
	cli_jtag(j, "tty", it, PWL_T_TTY);
}

int
cmd_token_list(struct cli *c, int argc, char **argv)
{
	static const char *const head[] = { "ID", "KIND", "CREATED",
	    "EXPIRES", "SERVICES", "FROM" };
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "list your tokens", NULL, NULL, 0, 0 };
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r, n;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	pwl_w_init(&w, NULL, 0);
	if ((r = cli_call(c, &op, PWL_MSG_TOKEN_LIST, &w, &rep)) != 0)
		return r;
	if ((n = cli_items_count(&rep.msg)) < 0) {
		cli_error("pwlessd sent a malformed token list; check that "
		    "pwless and pwlessd are the same version");
		return CLI_EXIT_REFUSED;
	}
	if (opts[0].val != NULL)
		cli_json_list(stdout, &rep.msg, token_json);
	else if (n == 0)
		printf("You hold no live tokens. Get one with 'pwless login' "
		    "or by logging in with your key.\n");
	else
		cli_table(stdout, &rep.msg, head,
		    sizeof(head) / sizeof(head[0]), token_cells);
	return CLI_EXIT_OK;
}

static const char *
revoke_hint(uint16_t st)
{
	if (st == PWL_ST_NOT_FOUND)
		return "it is not among your live tokens; see 'pwless token "
		    "list'";
	return NULL;
}

int
cmd_token_revoke(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "revoke token", NULL, NULL, 0, 0 };
	char id[PWL_ID_LEN + 1], *pos[1];
	uint8_t req[64];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	if (!cli_id_arg(pos[0], PWL_KIND_TOKEN, id))
		return CLI_EXIT_REFUSED;
	op.key_id = id;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_KEY_ID, id);
	r = cli_call_hint(c, &op, PWL_MSG_TOKEN_REVOKE, &w, &rep,
	    revoke_hint);
	if (r == 0)
		printf("Token %s revoked: it no longer works.\n", id);
	return r;
}
