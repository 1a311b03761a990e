/*
 * pwless.c: entry point of the pwless command line.  Global options, the
 * command table (which words run which handler), option parsing, and the
 * one place where pwlessd's answers become messages and exit codes.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "pwless.h"

#define DETAIL_DURATION \
	"DURATION is a number with a unit: 90s, 15m, 12h or 90d.\n"
#define DETAIL_CONTACT \
	"Needs a fresh login: run it in a session you logged in to with\n" \
	"pwless (its PWLESS_TOKEN), or give an API key on stdin:\n" \
	"  --key-stdin   read one of your API keys from standard input\n" \
	"A code goes to the new address and, if you have one, another to\n" \
	"your current address; confirm each with 'pwless contact confirm'.\n"
#define DETAIL_SINCE \
	"  --since TIME  only events since TIME: a duration back from now\n" \
	"                (2h, 7d) or a date (2026-11-28, \"2026-11-28 14:00\")\n"

/*
 * Every command: the words that select it, its handler, how many
 * positional arguments it takes, and its help.  Start reading here.
 */
static const struct cli_cmd cmds[] = {
	{ "key create", cmd_key_create, 0,
	    "[--label L] [--expires DURATION] [--services LIST]",
	    "create an API key for your account",
	    "Prints the new key alone on the first line of standard output,\n"
	    "once; details go to standard error.\n"
	    "  --label L          a name to recognise the key by\n"
	    "  --expires DURATION lifetime (default: the daemon's)\n"
	    "  --services LIST    PAM services it works for, e.g. sshd,sudo\n"
	    DETAIL_DURATION },
	{ "key list", cmd_key_list, 0, "[--json]",
	    "list your keys", NULL },
	{ "key revoke", cmd_key_revoke, 1, "KEYID",
	    "revoke one of your keys at once",
	    "KEYID is the 10-character id shown by 'pwless key list';\n"
	    "a whole pwl_ key is accepted too (only its id is sent).\n" },
	{ "key rotate", cmd_key_rotate, 1, "KEYID [--grace DURATION]",
	    "replace a key by a new one",
	    "Prints the new key alone on the first line of standard output.\n"
	    "  --grace DURATION   how long the old key keeps working\n"
	    DETAIL_DURATION },
	{ "login", cmd_login, 0, "[--ttl DURATION] [--services LIST]",
	    "exchange an API key on stdin for a short-lived token",
	    "Reads one of your API keys from standard input and prints a\n"
	    "token (pwt_...) alone on standard output.  Local services check\n"
	    "it with 'pwless token verify' or libpwless.\n"
	    "  --ttl DURATION   lifetime (default [tokens] lifetime, 15m;\n"
	    "                   at most [tokens] max_lifetime)\n"
	    "  --services LIST  services it works for, within the key's\n"
	    "                   own scope (default: the key's scope)\n"
	    DETAIL_DURATION },
	{ "token verify", cmd_token_verify, 0, "[--service S] [--json]",
	    "check a token on stdin; print its user and expiry",
	    "Exit status 0 when the token is valid, 1 when it is not.\n"
	    "  --service S   also require that the token works for S\n"
	    "Only your own tokens, unless you are root or in trusted_uids\n"
	    "or [tokens] verify_group.\n" },
	{ "token list", cmd_token_list, 0, "[--json]",
	    "list your live tokens", NULL },
	{ "token revoke", cmd_token_revoke, 1, "ID",
	    "revoke one of your tokens at once",
	    "ID is the 10-character id shown by 'pwless token list'.\n" },
	{ "contact show", cmd_contact_show, 0, "[--json]",
	    "show your email address, phone and any pending change", NULL },
	{ "contact set-email", cmd_contact_set_email, 1,
	    "ADDR [--key-stdin]", "change the address your codes go to",
	    DETAIL_CONTACT },
	{ "contact set-phone", cmd_contact_set_phone, 1,
	    "+E164 [--key-stdin]", "change the phone your codes go to",
	    DETAIL_CONTACT },
	{ "contact confirm", cmd_contact_confirm, 1, "CODE",
	    "confirm a contact change with a code it sent",
	    "Give each code a change sent (to the new address, and to the\n"
	    "current one); the change applies when all are confirmed.\n" },
	{ "contact cancel", cmd_contact_cancel, 0, "",
	    "cancel your pending contact change", NULL },
	{ "contact remove", cmd_contact_remove, 1, "email|phone [--key-stdin]",
	    "remove your email address or phone",
	    "Needs a fresh login like set-email; the address is told.\n" },
	{ "audit", cmd_audit, 0, "[--since TIME] [--json]",
	    "show your own events in the audit trail", DETAIL_SINCE },
	{ "admin user add", cmd_admin_user_add, 1,
	    "USER [--email E] [--phone P]",
	    "enroll a system account in pwless",
	    "  --email E   address for one-time codes\n"
	    "  --phone P   E.164 number for one-time codes, such as\n"
	    "              +41791234567\n" },
	{ "admin user list", cmd_admin_user_list, 0, "[--json]",
	    "list enrolled users", NULL },
	{ "admin user show", cmd_admin_user_show, 1, "USER [--json]",
	    "show one enrolled user", NULL },
	{ "admin user disable", cmd_admin_user_disable, 1, "USER",
	    "stop a user from logging in with pwless", NULL },
	{ "admin user enable", cmd_admin_user_enable, 1, "USER",
	    "let a disabled user log in again", NULL },
	{ "admin user remove", cmd_admin_user_remove, 1, "USER",
	    "remove a user and all of their keys", NULL },
	{ "admin user set-email", cmd_admin_user_set_email, 2, "USER ADDR",
	    "set the address one-time codes go to", NULL },
	{ "admin user set-phone", cmd_admin_user_set_phone, 2, "USER +E164",
	    "set the phone number one-time codes go to", NULL },
	{ "admin user unlock", cmd_admin_user_unlock, 1, "USER",
	    "clear a user's failure count and lockout", NULL },
	{ "admin limits list", cmd_admin_limits_list, 0, "[--json]",
	    "list remote hosts and local users held back by failures",
	    "Shows the sources pwlessd counts in memory: remote hosts\n"
	    "(rhost:), the uids of callers other than root and\n"
	    "trusted_uids (uid:), and the remote users (ruser:) and\n"
	    "terminals (tty:) that local services name; with their\n"
	    "failures not yet forgiven, the last one, any delay or lockout,\n"
	    "and the codes asked for this hour.  A restart forgets them.\n" },
	{ "admin limits clear", cmd_admin_limits_clear, 1, "SOURCE|all",
	    "forget the failures and lockout of one source, or of all",
	    "SOURCE as 'pwless admin limits list' shows it: rhost:HOST,\n"
	    "uid:N, ruser:USER or tty:TTY.\n" },
	{ "admin key list", cmd_admin_key_list, 1, "USER [--json]",
	    "list the keys of a user", NULL },
	{ "admin key revoke-all", cmd_admin_key_revoke_all, 1, "USER",
	    "revoke every key of a user", NULL },
	{ "admin contact approve", cmd_admin_contact_approve, 1, "USER",
	    "apply a user's contact change without their old address",
	    "For a user who lost their old address: waives its code.  The\n"
	    "new address must still be confirmed by the user.\n" },
	{ "admin audit verify", cmd_admin_audit_verify, 0, "",
	    "check the audit trail's hash chain",
	    "Exit status 0 when every row is intact, 1 naming the first\n"
	    "row that was changed, removed or replaced.\n" },
	{ "admin audit", cmd_admin_audit, 0,
	    "[--user U] [--since TIME] [--json]",
	    "list the audit trail, oldest first",
	    "  --user U      only rows about user U\n" DETAIL_SINCE },
	{ "doctor", cmd_doctor, 0,
	    "[--config FILE] [--pam-dir DIR] [--sshd-config FILE] "
	    "[--pwlessd PATH] [--send-test ADDRESS|+PHONE]",
	    "check this host's pwless set-up and say how to fix it",
	    "Checks pwlessd (running, version, config), the master key and\n"
	    "database permissions, every PAM service that uses pam_pwless,\n"
	    "and sshd's effective settings (sshd -T).  Run it as root.\n"
	    "Exit status 0 when nothing failed, 1 when something did.\n"
	    "  --config FILE      pwlessd.conf (default /etc/pwless/"
	    "pwlessd.conf)\n"
	    "  --pam-dir DIR      PAM configuration (default /etc/pam.d)\n"
	    "  --sshd-config FILE check sshd with this sshd_config\n"
	    "  --pwlessd PATH     pwlessd binary for --check-config\n"
	    "  --send-test DEST   send a test message to an email address or\n"
	    "                     +phone through the configured transport and\n"
	    "                     report its delivery\n" },
	{ "auth-test", cmd_authtest, 1, "USER [--service S] [--pam-dir DIR]",
	    "try a PAM service's login on this terminal",
	    "Runs the auth and account stacks of a PAM service with a real\n"
	    "conversation on this terminal, as a login would, so a stack\n"
	    "can be tried without logging out.  Exit status 0 when both\n"
	    "succeed, 1 when PAM refused.\n"
	    "  --service S   PAM service (default login)\n"
	    "  --pam-dir DIR read the service from DIR instead of "
	    "/etc/pam.d\n" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pwless: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("pwless: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, "usage: pwless %s %s\n"
	    "Run 'pwless %s --help' for details.\n",
	    c->cmd->name, c->cmd->args, c->cmd->name);
	return CLI_EXIT_USAGE;
}

/* 1 when text is 1..max bytes of printable UTF-8; else says why. */
int
cli_check_text(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !pwl_printable(s, n)) {
		cli_error("%s must be 1 to %zu bytes of printable text "
		    "(no control characters); choose another", what, max);
		return 0;
	}
	return 1;
}

static void
print_cmd_help(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: pwless %s %s\n%c%s.\n", cmd->name, cmd->args,
	    toupper((unsigned char)cmd->help[0]), cmd->help + 1);
	if (cmd->detail != NULL)
		fprintf(f, "\n%s", cmd->detail);
}

/* Commands whose name starts with the first nw words of words. */
static void
print_list(FILE *f, char **words, int nw)
{
	size_t i;
	int k;

	fprintf(f, "usage: pwless [--socket PATH] COMMAND [ARGS]\n\n"
	    "Commands:\n");
	for (i = 0; i < NCMDS; i++) {
		const char *p = cmds[i].name;

		for (k = 0; k < nw; k++) {
			size_t l = strlen(words[k]);

			if (strncmp(p, words[k], l) != 0 || p[l] != ' ')
				break;
			p += l + 1;
		}
		if (k == nw)
			fprintf(f, "  %-21s %s\n", cmds[i].name,
			    cmds[i].help);
	}
	fprintf(f, "\nOptions:\n"
	    "  --socket PATH   pwlessd's socket (default: $PWLESS_SOCKET,\n"
	    "                  else %s)\n"
	    "  --help          this help; 'pwless COMMAND --help' for one "
	    "command\n"
	    "  --version       print the version\n"
	    "\nExit status: 0 done, 1 refused or bad value, 2 usage error, "
	    "3 pwlessd unreachable.\n", PWL_DEFAULT_SOCKET);
}

/*
 * How many of argv's words match the start of name: *full is set when
 * they cover all of name.
 */
static int
match_words(const char *name, int argc, char **argv, int *full)
{
	const char *p = name;
	int k;
	size_t l;

	*full = 0;
	for (k = 0; k < argc; k++) {
		l = strlen(argv[k]);
		if (strncmp(p, argv[k], l) != 0 ||
		    (p[l] != ' ' && p[l] != '\0'))
			break;
		if (p[l] == '\0') {
			*full = 1;
			return k + 1;
		}
		p += l + 1;
	}
	return k;
}

/* The command argv names, or NULL; *depth is how many words matched. */
static const struct cli_cmd *
find_cmd(int argc, char **argv, int *depth)
{
	size_t i;
	int k, full;

	*depth = 0;
	for (i = 0; i < NCMDS; i++) {
		k = match_words(cmds[i].name, argc, argv, &full);
		if (full) {
			*depth = k;
			return &cmds[i];
		}
		if (k > *depth)
			*depth = k;
	}
	return NULL;
}

/* "pwless help [COMMAND]" */
static int
help(int argc, char **argv)
{
	const struct cli_cmd *cmd;
	int depth;

	if ((cmd = find_cmd(argc, argv, &depth)) != NULL) {
		print_cmd_help(stdout, cmd);
		return CLI_EXIT_OK;
	}
	if (depth < argc) {
		cli_error("no command '%s'; run 'pwless help' for the list",
		    argv[depth]);
		return CLI_EXIT_USAGE;
	}
	print_list(stdout, argv, depth);
	return CLI_EXIT_OK;
}

static int
opt_match(const char *arg, const char *name, const char **val)
{
	size_t l = strlen(name);

	*val = NULL;
	if (strncmp(arg, name, l) != 0)
		return 0;
	if (arg[l] == '=')
		*val = arg + l + 1;
	return arg[l] == '\0' || arg[l] == '=';
}

/* One "--name[=value]" at argv[*i]; 0 or a usage error. */
static int
parse_opt(const struct cli *c, int argc, char **argv, int *i,
    struct cli_opt *opts)
{
	const char *arg = argv[*i] + 2, *val;
	struct cli_opt *o;

	for (o = opts; o != NULL && o->name != NULL; o++)
		if (opt_match(arg, o->name, &val))
			break;
	if (o == NULL || o->name == NULL)
		return cli_usage(c, "unknown option '%s'", argv[*i]);
	if (o->val != NULL)
		return cli_usage(c, "option --%s given twice", o->name);
	if (!o->has_arg) {
		if (val != NULL)
			return cli_usage(c, "option --%s takes no value",
			    o->name);
		o->val = "";
		return 0;
	}
	if (val == NULL) {
		if (*i + 1 >= argc)
			return cli_usage(c, "option --%s needs a value",
			    o->name);
		val = argv[++*i];
	}
	o->val = val;
	return 0;
}

/*
 * Parses a command's arguments: options from opts (terminated by a NULL
 * name) anywhere, "--" ends them, and exactly c->cmd->nargs positional
 * arguments into pos.  Returns 0 to go on, or -1 with *exitp set (after
 * --help, or a usage error).
 */
int
cli_args(const struct cli *c, int argc, char **argv, struct cli_opt *opts,
    char **pos, int *exitp)
{
	int i, n = 0, dashdash = 0;

	*exitp = CLI_EXIT_OK;
	for (i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
		} else if (!dashdash && (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)) {
			print_cmd_help(stdout, c->cmd);
			return -1;
		} else if (!dashdash && strncmp(argv[i], "--", 2) == 0) {
			if ((*exitp = parse_opt(c, argc, argv, &i, opts)) != 0)
				return -1;
		} else if (!dashdash && argv[i][0] == '-') {
			*exitp = cli_usage(c, "unknown option '%s'", argv[i]);
			return -1;
		} else if (n < c->cmd->nargs) {
			pos[n++] = argv[i];
		} else {
			*exitp = cli_usage(c, "unexpected argument '%s'",
			    argv[i]);
			return -1;
		}
	}
	if (n < c->cmd->nargs) {
		*exitp = cli_usage(c, "missing argument");
		return -1;
	}
	return 0;
}

static const char *
self_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_DENIED:
	case PWL_ST_UNKNOWN_USER:
	case PWL_ST_NOT_FOUND:
		return "your account is not enrolled in pwless, or may not "
		    "use it; ask an administrator";
	case PWL_ST_NOT_PERMITTED:
		return "pwlessd does not allow this for your account; "
		    "ask an administrator";
	case PWL_ST_DISABLED:
		return "your pwless account is disabled; ask an "
		    "administrator to enable it";
	case PWL_ST_LIMIT:
		return "a limit was reached (too many keys, or a lifetime "
		    "over the maximum); revoke keys you no longer use "
		    "('pwless key list') or ask for a shorter --expires";
	}
	return NULL;
}

static const char *
admin_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_DENIED:
	case PWL_ST_NOT_PERMITTED:
		return "admin commands need root or membership of "
		    "admin_group";
	case PWL_ST_DISABLED:
		return "the user is disabled; enable it first with "
		    "'pwless admin user enable'";
	case PWL_ST_LIMIT:
		return "a limit of pwlessd was reached; see pwlessd.conf";
	}
	return NULL;
}

static const char *
common_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_EXPIRED:
		return "it has expired";
	case PWL_ST_RATE_LIMITED:
		return "too many requests; wait a while and try again";
	case PWL_ST_NO_FACTOR:
		return "no email address or phone number is on file; ask "
		    "an administrator to set one";
	case PWL_ST_BAD_REQUEST:
		return "pwlessd rejected the request as malformed; check "
		    "that pwless and pwlessd are the same version";
	case PWL_ST_VERSION:
		return "pwless and pwlessd speak different protocol "
		    "versions; install matching versions";
	case PWL_ST_INTERNAL:
		return "pwlessd hit an internal error; see its log "
		    "('journalctl -u pwlessd')";
	case PWL_ST_UNAVAILABLE:
		return "pwlessd cannot record changes right now (database "
		    "busy or disk full); try again, or see its log";
	}
	return "pwlessd refused with an unexpected status; see its log";
}

/* NOT_FOUND, UNKNOWN_USER and EXISTS name what the request was about. */
static int
subject_hint(const struct cli_op *op, uint16_t st, char *buf, size_t sz)
{
	if (st == PWL_ST_EXISTS && op->user != NULL)
		snprintf(buf, sz, "user %s is already enrolled; see "
		    "'pwless admin user show %s'", op->user, op->user);
	else if (st == PWL_ST_NOT_FOUND && op->enroll)
		snprintf(buf, sz, "there is no system account named %s; "
		    "create it first (useradd)", op->user);
	else if ((st == PWL_ST_NOT_FOUND || st == PWL_ST_UNKNOWN_USER) &&
	    op->admin && op->user != NULL)
		snprintf(buf, sz, "no user %s is enrolled in pwless; see "
		    "'pwless admin user list'", op->user);
	else if (st == PWL_ST_NOT_FOUND && op->key_id != NULL)
		snprintf(buf, sz, "no key %s among your keys; see "
		    "'pwless key list'", op->key_id);
	else if (op->admin && (st == PWL_ST_NOT_FOUND ||
	    st == PWL_ST_EXISTS))
		snprintf(buf, sz, "pwlessd answered %s",
		    pwl_status_name(st));
	else
		return 0;
	return 1;
}

/*
 * The one place where a daemon status becomes a message and an exit
 * code.  Any refusal exits 1; the daemon's MESSAGE, if any, follows.
 */
static int
status_exit(const struct cli_op *op, const struct pwl_msg *m,
    cli_hint_fn own)
{
	char buf[PWL_USER_MAX * 2 + 128], msg[PWL_STR_MAX + 1];
	const char *hint = NULL, *subj;
	uint64_t retry;

	if (m->status == PWL_ST_OK)
		return CLI_EXIT_OK;
	if (own != NULL)
		hint = own(m->status);
	if (hint != NULL)
		buf[0] = '\0';
	else if (subject_hint(op, m->status, buf, sizeof(buf)))
		hint = buf;
	else if (op->admin)
		hint = admin_hint(m->status);
	else
		hint = self_hint(m->status);
	if (hint == NULL)
		hint = common_hint(m->status);
	subj = op->key_id != NULL ? op->key_id : op->user;
	cli_error("cannot %s%s%s: %s", op->what, subj != NULL ? " " : "",
	    subj != NULL ? subj : "", hint);
	if (pwl_msg_u64(m, PWL_T_RETRY_AFTER, &retry) == 0)
		cli_error("try again in %llu seconds",
		    (unsigned long long)retry);
	if (pwl_msg_str(m, PWL_T_MESSAGE, msg, sizeof(msg)) == 0)
		cli_error("pwlessd says: %s", msg);
	return CLI_EXIT_REFUSED;
}

/*
 * Sends the request in w and waits for the reply.  Returns 0 when the
 * daemon said OK; otherwise prints what failed and returns the exit code.
 */
int
cli_call(const struct cli *c, const struct cli_op *op, uint16_t type,
    const struct pwl_wbuf *w, struct pwl_reply *rep)
{
	return cli_call_hint(c, op, type, w, rep, NULL);
}

int
cli_call_hint(const struct cli *c, const struct cli_op *op, uint16_t type,
    const struct pwl_wbuf *w, struct pwl_reply *rep, cli_hint_fn own)
{
	int r;

	if (w->err != 0) {
		cli_error("cannot %s: the request is too large (%s); use "
		    "shorter values", op->what, pwl_strerror(w->err));
		return CLI_EXIT_REFUSED;
	}
	r = pwl_transact(c->socket, 0, type, w->p, w->len, rep);
	if (r != 0) {
		cli_error("cannot reach pwlessd at %s: %s. Is it running? "
		    "Start it with 'systemctl start pwlessd' or 'pwlessd -f', "
		    "or point --socket / PWLESS_SOCKET at it.", c->socket,
		    pwl_strerror(r));
		if (r == PWL_ERR_PROTO || r == PWL_ERR_VERSION ||
		    r == PWL_ERR_TOOBIG)
			cli_error("its reply could not be read; check that "
			    "pwless and pwlessd are the same version");
		else if (r == PWL_ERR_UNTRUSTED)
			cli_error("pwless only talks to a pwlessd running as "
			    "root, as you, or as the user 'pwless'");
		return CLI_EXIT_UNREACHABLE;
	}
	return status_exit(op, &rep->msg, own);
}

/* Global options before the command; returns the index of the command. */
static int
global_opts(struct cli *c, int argc, char **argv, int *exitp)
{
	const char *val;
	int i;

	*exitp = -1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			print_list(stdout, NULL, 0);
			*exitp = CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("pwless %s (protocol %d.%d)\n", PACKAGE_VERSION,
			    PWL_PROTO_MAJOR, PWL_PROTO_MINOR);
			*exitp = CLI_EXIT_OK;
		} else if (opt_match(argv[i], "--socket", &val)) {
			if (val == NULL && (val = argv[++i]) == NULL) {
				cli_error("option --socket needs a path");
				*exitp = CLI_EXIT_USAGE;
			} else
				c->socket = val;
		} else {
			cli_error("unknown option '%s'; run 'pwless --help'",
			    argv[i]);
			*exitp = CLI_EXIT_USAGE;
		}
		if (*exitp != -1)
			break;
	}
	return i;
}

static int
check_socket(const char *path)
{
	struct sockaddr_un sun;

	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		cli_error("socket path '%s' is empty or longer than %zu "
		    "bytes; give a shorter --socket", path,
		    sizeof(sun.sun_path) - 1);
		return 0;
	}
	return 1;
}

/* Runs the command at argv[0..argc), after the global options. */
static int
run(struct cli *c, int argc, char **argv)
{
	int depth, i;

	if (argc == 0) {
		print_list(stderr, NULL, 0);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return help(argc - 1, argv + 1);
	if ((c->cmd = find_cmd(argc, argv, &depth)) != NULL) {
		if (!check_socket(c->socket))
			return CLI_EXIT_REFUSED;
		return c->cmd->fn(c, argc - depth, argv + depth);
	}
	if (depth > 0 && depth < argc && (strcmp(argv[depth], "--help") ==
	    0 || strcmp(argv[depth], "-h") == 0)) {
		print_list(stdout, argv, depth);
		return CLI_EXIT_OK;
	}
	if (depth == 0) {
		cli_error("unknown command '%s'; run 'pwless --help' for the "
		    "list", argv[0]);
		return CLI_EXIT_USAGE;
	}
	fputs("pwless: ", stderr);
	if (depth < argc)
		fprintf(stderr, "unknown command '%s' after", argv[depth]);
	else
		fputs("missing subcommand after", stderr);
	for (i = 0; i < depth; i++)
		fprintf(stderr, " %s", argv[i]);
	fputs("\n", stderr);
	print_list(stderr, argv, depth);
	return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct cli c;
	const char *env;
	int i, r;

	memset(&c, 0, sizeof(c));
	c.socket = PWL_DEFAULT_SOCKET;
	if ((env = getenv("PWLESS_SOCKET")) != NULL && *env != '\0')
		c.socket = env;
	i = global_opts(&c, argc, argv, &r);
	if (r == -1)
		r = run(&c, argc - i, argv + i);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write to standard output");
		if (r == CLI_EXIT_OK)
			r = CLI_EXIT_REFUSED;
	}
	return r;
}
