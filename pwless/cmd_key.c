/*
 * cmd_key.c: the self-service key commands, "pwless key create|list|
 * revoke|rotate".  No user name is sent: pwlessd acts for the caller's uid.
 * New keys go to stdout alone and are wiped from memory once written.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyfmt.h"
#include "util.h"
#include "pwless.h"

int
cli_duration_arg(const char *opt, const char *s, int allow_zero, uint64_t *out)
{
	if (pwl_parse_duration(s, out) != 0) {
		cli_error("--%s: '%.32s' is not a duration; use a number and "
		    "a unit: 90s, 15m, 12h or 90d", opt, s);
		return 0;
	}
	if (*out == 0 && !allow_zero) {
		cli_error("--%s must be longer than 0; use e.g. 90d", opt);
		return 0;
	}
	return 1;
}

/* A comma list of PAM service names: "sshd,sudo". */
int
cli_services_arg(const char *s)
{
	const char *p, *end;
	size_t n;

	if (!cli_check_text("--services", s, PWL_STR_MAX))
		return 0;
	for (p = s; ; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n == 0 || n > PWL_SERVICE_MAX ||
		    memchr(p, ' ', n) != NULL) {
			cli_error("--services needs PAM service names (at most "
			    "%d bytes each) separated by commas, without "
			    "spaces: e.g. sshd,sudo", PWL_SERVICE_MAX);
			return 0;
		}
		if (*end == '\0')
			return 1;
	}
}

/*
 * The id of a key (kind PWL_KIND_KEY) or token (PWL_KIND_TOKEN) from arg:
 * the 10-character id, or a whole pwl_/pwt_ secret whose id is taken and
 * which is then wiped from argv.  1, or 0 after saying what is wrong.
 */
int
cli_id_arg(char *arg, int want, char id[PWL_ID_LEN + 1])
{
	const char *what = want == PWL_KIND_KEY ? "key" : "token";
	int kind = pwl_secret_kind(arg), parsed, r = 0;

	id[0] = '\0';
	if (kind == want)
		r = pwl_secret_parse(arg, &parsed, id) == 0;
	else if (kind == PWL_KIND_NONE && pwl_id_valid(arg))
		r = pwl_strlcpy(id, arg, PWL_ID_LEN + 1) == PWL_ID_LEN;
	if (r)
		goto out;
	if (kind == want)
		cli_error("that %s is not well-formed (its length or checksum "
		    "is wrong: a typo?); give the %d-character id shown by "
		    "'pwless %s list'", what, PWL_ID_LEN, what);
	else if (kind != PWL_KIND_NONE)
		cli_error("that is a %s, not a %s; give an id shown by "
		    "'pwless %s list'", kind == PWL_KIND_KEY ? "pwl_ API key" :
		    "pwt_ token", what, what);
	else
		cli_error("'%.32s' is not a %s id: an id is %d letters and "
		    "digits, as shown by 'pwless %s list'",
		    pwl_printable(arg, strlen(arg)) ? arg : "?", what,
		    PWL_ID_LEN, what);
 out:
	if (kind != PWL_KIND_NONE)
		explicit_bzero(arg, strlen(arg));
	return r;
}

/* Writes the key and a newline straight to fd 1: no stdio copy of it. */
int
cli_print_secret(const char *key)
{
	char line[PWL_SECRET_MAX + 2];
	size_t n, off = 0;
	ssize_t w;
	int r = 0;

	pwl_strlcpy(line, key, sizeof(line) - 1);
	n = strlen(line);
	line[n++] = '\n';
	if (fflush(stdout) != 0)
		r = -1;
	while (r == 0 && off < n) {
		w = write(STDOUT_FILENO, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = -1;
		else
			off += (size_t)w;
	}
	explicit_bzero(line, sizeof(line));
	return r;
}

/*
 * Prints the key of a KEY_CREATE or KEY_ROTATE reply, alone on stdout,
 * then its details on stderr.  label and services may be NULL.
 */
static int
show_new_key(const struct pwl_msg *m, const char *label,
    const char *services)
{
	char key[PWL_SECRET_MAX + 1], id[PWL_KEYID_MAX + 1];
	char kid[PWL_ID_LEN + 1], when[64];
	int kind, ok, r;

	cli_str(m, PWL_T_KEY_ID, id, sizeof(id));
	if (pwl_msg_str(m, PWL_T_KEY, key, sizeof(key)) != 0) {
		cli_error("pwlessd's reply carries no key; see its log");
		return CLI_EXIT_REFUSED;
	}
	ok = pwl_secret_parse(key, &kind, kid) == 0 &&
	    kind == PWL_KIND_KEY && strcmp(kid, id) == 0;
	r = cli_print_secret(key);
	explicit_bzero(key, sizeof(key));
	if (r != 0) {
		cli_error("cannot write the new key to standard output (%s); "
		    "it exists as key %s: revoke it with 'pwless key revoke "
		    "%s' and try again", strerror(errno), id, id);
		return CLI_EXIT_REFUSED;
	}
	if (!ok)
		cli_error("warning: the key pwlessd sent is not well-formed; "
		    "check that pwless and pwlessd are the same version");
	cli_fmt_time(cli_u64(m, PWL_T_EXPIRES), "never", when, sizeof(when));
	fprintf(stderr, "Key id:   %s\n", id);
	if (label != NULL)
		fprintf(stderr, "Label:    %s\n", label);
	fprintf(stderr, "Expires:  %s\n", when);
	if (label != NULL || services != NULL)
		fprintf(stderr, "Services: %s\n",
		    services != NULL ? services : "all");
	fprintf(stderr, "Store it now: it is not shown again.\n");
	return CLI_EXIT_OK;
}

int
cmd_key_create(struct cli *c, int argc, char **argv)
{
	enum { O_LABEL, O_EXPIRES, O_SERVICES };
	struct cli_opt opts[] = { { "label", 1, NULL },
	    { "expires", 1, NULL }, { "services", 1, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "create a key", NULL, NULL, 0, 0 };
	const char *label, *services;
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	uint64_t life = 0;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	label = opts[O_LABEL].val;
	services = opts[O_SERVICES].val;
	if ((label != NULL && !cli_check_text("--label", label,
	    PWL_LABEL_MAX)) ||
	    (opts[O_EXPIRES].val != NULL && !cli_duration_arg("expires",
	    opts[O_EXPIRES].val, 0, &life)) ||
	    (services != NULL && !cli_services_arg(services)))
		return CLI_EXIT_REFUSED;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_LABEL, label);
	if (opts[O_EXPIRES].val != NULL)
		pwl_w_u64(&w, PWL_T_LIFETIME, life);
	pwl_w_str(&w, PWL_T_SERVICES, services);
	if ((r = cli_call(c, &op, PWL_MSG_KEY_CREATE, &w, &rep)) == 0)
		r = show_new_key(&rep.msg, label != NULL ? label : "-",
		    services);
	pwl_reply_clear(&rep);
	return r;
}

static void
key_cells(const struct pwl_msg *it, cli_row row)
{
	char svc[PWL_SERVICE_MAX + 1], rhost[PWL_RHOST_MAX + 1], t[64];
	uint64_t used = cli_u64(it, PWL_T_LAST_USED);

	cli_str(it, PWL_T_KEY_ID, row[0], CLI_CELL_MAX);
	if (*cli_str(it, PWL_T_LABEL, row[1], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[1], "-", CLI_CELL_MAX);
	cli_str(it, PWL_T_STATE, row[2], CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_CREATED), "-", row[3], CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_EXPIRES), "never", row[4],
	    CLI_CELL_MAX);
	cli_fmt_time(used, "never", t, sizeof(t));
	cli_str(it, PWL_T_LAST_SERVICE, svc, sizeof(svc));
	cli_str(it, PWL_T_LAST_RHOST, rhost, sizeof(rhost));
	snprintf(row[5], CLI_CELL_MAX, "%s%s%s%s%s", t,
	    used != 0 && *svc != '\0' ? " " : "", used != 0 ? svc : "",
	    used != 0 && *rhost != '\0' ? " from " : "",
	    used != 0 ? rhost : "");
	if (*cli_str(it, PWL_T_SERVICES, row[6], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[6], "all", CLI_CELL_MAX);
}

static void
key_json(struct cli_json *j, const struct pwl_msg *it)
{
	cli_jtag(j, "key_id", it, PWL_T_KEY_ID);
	cli_jtag(j, "label", it, PWL_T_LABEL);
	cli_jtag(j, "state", it, PWL_T_STATE);
	cli_ju64(j, "created", cli_u64(it, PWL_T_CREATED));
	cli_ju64(j, "expires", cli_u64(it, PWL_T_EXPIRES));
	cli_ju64(j, "last_used", cli_u64(it, PWL_T_LAST_USED));
	cli_jtag(j, "last_service", it, PWL_T_LAST_SERVICE);
	cli_jtag(j, "last_rhost", it, PWL_T_LAST_RHOST);
	cli_jtag(j, "services", it, PWL_T_SERVICES);
}

/* A KEY_LIST or ADMIN_KEY_LIST reply as a table or JSON. */
int
cli_print_keys(const struct pwl_msg *m, int json, const char *empty)
{
	static const char *const head[] = { "ID", "LABEL", "STATE",
	    "CREATED", "EXPIRES", "LAST USED", "SERVICES" };
	int n;

	if ((n = cli_items_count(m)) < 0) {
		cli_error("pwlessd sent a malformed key list; check that "
		    "pwless and pwlessd are the same version");
		return CLI_EXIT_REFUSED;
	}
	if (json)
		cli_json_list(stdout, m, key_json);
	else if (n == 0)
		printf("%s\n", empty);
	else
		cli_table(stdout, m, head, sizeof(head) / sizeof(head[0]),
		    key_cells);
	return CLI_EXIT_OK;
}

int
cmd_key_list(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "list your keys", NULL, NULL, 0, 0 };
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	pwl_w_init(&w, NULL, 0);
	if ((r = cli_call(c, &op, PWL_MSG_KEY_LIST, &w, &rep)) == 0)
		r = cli_print_keys(&rep.msg, opts[0].val != NULL,
		    "You have no keys. Create one with 'pwless key create'.");
	return r;
}

int
cmd_key_revoke(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "revoke key", NULL, NULL, 0, 0 };
	char id[PWL_ID_LEN + 1], *pos[1];
	uint8_t req[64];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	if (!cli_id_arg(pos[0], PWL_KIND_KEY, id))
		return CLI_EXIT_REFUSED;
	op.key_id = id;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_KEY_ID, id);
	if ((r = cli_call(c, &op, PWL_MSG_KEY_REVOKE, &w, &rep)) == 0)
		printf("Key %s revoked: it no longer works.\n", id);
	return r;
}

/* What becomes of the old key, from the ITEM of a KEY_ROTATE reply. */
static void
show_old_key(const struct pwl_msg *m, const char *old)
{
	struct pwl_msg it;
	uint64_t until;
	char when[64];

	if (cli_item(m, 0, &it) != 0 ||
	    pwl_msg_u64(&it, PWL_T_EXPIRES, &until) != 0)
		fprintf(stderr, "The old key %s keeps working for the grace "
		    "period; switch to the new key.\n", old);
	else if (until != 0 && until <= (uint64_t)time(NULL))
		fprintf(stderr, "The old key %s no longer works.\n", old);
	else {
		cli_fmt_time(until, "never", when, sizeof(when));
		fprintf(stderr, "The old key %s keeps working until %s; "
		    "switch to the new key before then.\n", old, when);
	}
}

int
cmd_key_rotate(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "grace", 1, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "rotate key", NULL, NULL, 0, 0 };
	char id[PWL_ID_LEN + 1], *pos[1];
	uint8_t req[64];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	uint64_t grace = 0;
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	if (!cli_id_arg(pos[0], PWL_KIND_KEY, id) ||
	    (opts[0].val != NULL &&
	    !cli_duration_arg("grace", opts[0].val, 1, &grace)))
		return CLI_EXIT_REFUSED;
	op.key_id = id;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_KEY_ID, id);
	if (opts[0].val != NULL)
		pwl_w_u64(&w, PWL_T_GRACE, grace);
	if ((r = cli_call(c, &op, PWL_MSG_KEY_ROTATE, &w, &rep)) == 0 &&
	    (r = show_new_key(&rep.msg, NULL, NULL)) == 0)
		show_old_key(&rep.msg, id);
	pwl_reply_clear(&rep);
	return r;
}
