/*
 * pamdrive.c: test driver that runs real libpam on a private config
 * directory (pam_start_confdir) with a scripted conversation, printing one
 * line per message and per operation so tests can assert what a user sees.
 * Lines: PROMPT_ECHO_OFF|PROMPT_ECHO_ON|ERROR_MSG|TEXT_INFO <text>,
 * RESULT <op> <PAM_NAME> <n>, ENV PWLESS_TOKEN=<v>, and with -D
 * FAIL_DELAY <PAM_NAME> <usec> in place of libpam's failure sleep.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define OPS_MAX		32

enum op {
	OP_AUTH,
	OP_ACCT,
	OP_OPEN,
	OP_CLOSE,
	OP_SETCRED,
};

static const char *const op_names[] = {
	[OP_AUTH] = "auth",
	[OP_ACCT] = "acct",
	[OP_OPEN] = "open",
	[OP_CLOSE] = "close",
	[OP_SETCRED] = "setcred",
};

/* Scripted answers, handed out in order; then stdin. */
struct script {
	char		**answers;	/* the -a values */
	int		  n;		/* how many */
	int		  next;		/* the next one to give */
};

struct args {
	const char	*dir;		/* -d: PAM config directory */
	const char	*service;	/* -s */
	const char	*user;		/* -u */
	const char	*rhost;		/* -r: PAM_RHOST */
	const char	*tty;		/* -t: PAM_TTY */
	const char	*ruser;		/* -R: PAM_RUSER */
	struct script	 script;	/* -a answers */
	enum op		 ops[OPS_MAX];	/* -o */
	int		 nops;
	int		 repeat;	/* -n: times to run each auth op */
	int		 no_delay;	/* -D: print FAIL_DELAY, don't sleep */
};

#define NAME(x)	{ x, #x }
static const struct {
	int		 code;
	const char	*name;
} pam_names[] = {
	NAME(PAM_SUCCESS), NAME(PAM_OPEN_ERR), NAME(PAM_SYMBOL_ERR),
	NAME(PAM_SERVICE_ERR), NAME(PAM_SYSTEM_ERR), NAME(PAM_BUF_ERR),
	NAME(PAM_PERM_DENIED), NAME(PAM_AUTH_ERR),
	NAME(PAM_CRED_INSUFFICIENT), NAME(PAM_AUTHINFO_UNAVAIL),
	NAME(PAM_USER_UNKNOWN), NAME(PAM_MAXTRIES),
	NAME(PAM_NEW_AUTHTOK_REQD), NAME(PAM_ACCT_EXPIRED),
	NAME(PAM_SESSION_ERR), NAME(PAM_CRED_UNAVAIL),
	NAME(PAM_CRED_EXPIRED), NAME(PAM_CRED_ERR),
	NAME(PAM_NO_MODULE_DATA), NAME(PAM_CONV_ERR),
	NAME(PAM_AUTHTOK_ERR), NAME(PAM_AUTHTOK_RECOVERY_ERR),
	NAME(PAM_AUTHTOK_LOCK_BUSY), NAME(PAM_AUTHTOK_DISABLE_AGING),
	NAME(PAM_TRY_AGAIN), NAME(PAM_IGNORE), NAME(PAM_ABORT),
	NAME(PAM_AUTHTOK_EXPIRED), NAME(PAM_MODULE_UNKNOWN),
	NAME(PAM_BAD_ITEM), NAME(PAM_CONV_AGAIN), NAME(PAM_INCOMPLETE),
};
#undef NAME

static const char *
pam_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(pam_names) / sizeof(pam_names[0]); i++)
		if (pam_names[i].code == code)
			return pam_names[i].name;
	return "PAM_UNKNOWN_RESULT";
}

static void
usage(void)
{
	fprintf(stderr, "usage: pamdrive -d CONFDIR -s SERVICE -u USER "
	    "[-r RHOST] [-t TTY] [-R RUSER]\n"
	    "                [-a ANSWER]... [-o auth,acct,open,close,setcred] "
	    "[-n REPEAT] [-D]\n");
	exit(64);
}

/* The next answer: a -a value, else one line of stdin; NULL at EOF. */
static char *
next_answer(struct script *s)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (s->next < s->n)
		return strdup(s->answers[s->next++]);
	if ((n = getline(&line, &cap, stdin)) < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

static void
free_responses(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct script *s = data;
	struct pam_response *r;
	int i, prompt;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		prompt = 1;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			printf("PROMPT_ECHO_OFF %s\n", msg[i]->msg);
			break;
		case PAM_PROMPT_ECHO_ON:
			printf("PROMPT_ECHO_ON %s\n", msg[i]->msg);
			break;
		case PAM_ERROR_MSG:
			printf("ERROR_MSG %s\n", msg[i]->msg);
			prompt = 0;
			break;
		case PAM_TEXT_INFO:
			printf("TEXT_INFO %s\n", msg[i]->msg);
			prompt = 0;
			break;
		default:
			printf("UNKNOWN_STYLE %d %s\n", msg[i]->msg_style,
			    msg[i]->msg);
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
		fflush(stdout);
		if (prompt && (r[i].resp = next_answer(s)) == NULL) {
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Parses "auth,acct,..." into ops; the count, or -1. */
static int
parse_ops(const char *list, enum op *ops)
{
	size_t len, i;
	int n = 0;

	while (*list != '\0') {
		len = strcspn(list, ",");
		for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
			if (strlen(op_names[i]) == len &&
			    strncmp(list, op_names[i], len) == 0)
				break;
		if (i == sizeof(op_names) / sizeof(op_names[0]) ||
		    n == OPS_MAX)
			return -1;
		ops[n++] = (enum op)i;
		list += len;
		if (*list == ',')
			list++;
	}
	return n;
}

static int
run_op(pam_handle_t *pamh, enum op op)
{
	const char *tok;
	int r;

	switch (op) {
	case OP_AUTH:
		r = pam_authenticate(pamh, 0);
		break;
	case OP_ACCT:
		r = pam_acct_mgmt(pamh, 0);
		break;
	case OP_OPEN:
		r = pam_open_session(pamh, 0);
		break;
	case OP_CLOSE:
		r = pam_close_session(pamh, 0);
		break;
	default:
		r = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		break;
	}
	printf("RESULT %s %s %d\n", op_names[op], pam_name(r), r);
	if (op == OP_AUTH && r == PAM_SUCCESS &&
	    (tok = pam_getenv(pamh, "PWLESS_TOKEN")) != NULL)
		printf("ENV PWLESS_TOKEN=%s\n", tok);
	fflush(stdout);
	return r;
}

static int
set_item(pam_handle_t *pamh, int item, const char *name, const char *v)
{
	int r;

	if (v == NULL)
		return 0;
	if ((r = pam_set_item(pamh, item, v)) != PAM_SUCCESS) {
		fprintf(stderr, "pamdrive: cannot set %s: %s\n", name,
		    pam_strerror(pamh, r));
		return -1;
	}
	return 0;
}

/* Linux-PAM >= 1.4; without it the tests are skipped (exit 77). */
static int
start(const char *service, const char *user, const struct pam_conv *pc,
    const char *dir, pam_handle_t **pamh)
{
#ifdef HAVE_PAM_START_CONFDIR
	return pam_start_confdir(service, user, pc, dir, pamh);
#else
	(void)service; (void)user; (void)pc; (void)dir; (void)pamh;
	fprintf(stderr, "pamdrive: libpam lacks pam_start_confdir "
	    "(needs Linux-PAM 1.4 or later)\n");
	exit(77);
#endif
}

static int
repeat_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000)
		usage();
	return (int)v;
}

/* Parses the command line into a; exits with 64 on a usage error. */
static void
parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->ops[0] = OP_AUTH;
	a->nops = 1;
	a->repeat = 1;
	if ((a->script.answers = calloc((size_t)argc, sizeof(char *))) == NULL)
		exit(70);
	while ((c = getopt(argc, argv, "d:s:u:r:t:R:a:o:n:D")) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 's':
			a->service = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		case 'r':
			a->rhost = optarg;
			break;
		case 't':
			a->tty = optarg;
			break;
		case 'R':
			a->ruser = optarg;
			break;
		case 'a':
			a->script.answers[a->script.n++] = optarg;
			break;
		case 'o':
			if ((a->nops = parse_ops(optarg, a->ops)) <= 0)
				usage();
			break;
		case 'n':
			a->repeat = repeat_arg(optarg);
			break;
		case 'D':
			a->no_delay = 1;
			break;
		default:
			usage();
		}
	}
	if (a->dir == NULL || a->service == NULL || a->user == NULL ||
	    optind != argc)
		usage();
}

/* -D: report the failure delay the modules asked for instead of sleeping. */
static void
show_delay(int status, unsigned int usec, void *data)
{
	(void)data;
	printf("FAIL_DELAY %s %u\n", pam_name(status), usec);
	fflush(stdout);
}

static int
set_items(pam_handle_t *pamh, const struct args *a)
{
	if (set_item(pamh, PAM_RHOST, "PAM_RHOST", a->rhost) != 0 ||
	    set_item(pamh, PAM_TTY, "PAM_TTY", a->tty) != 0 ||
	    set_item(pamh, PAM_RUSER, "PAM_RUSER", a->ruser) != 0)
		return -1;
	if (a->no_delay && pam_set_item(pamh, PAM_FAIL_DELAY,
	    (const void *)show_delay) != PAM_SUCCESS) {
		fprintf(stderr, "pamdrive: cannot set PAM_FAIL_DELAY\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct pam_conv pc = { conv, &a.script };
	pam_handle_t *pamh = NULL;
	int i, k, r;

	parse_args(argc, argv, &a);
	if ((r = start(a.service, a.user, &pc, a.dir, &pamh)) != PAM_SUCCESS) {
		printf("RESULT start %s %d\n", pam_name(r), r);
		goto out;
	}
	if (set_items(pamh, &a) != 0) {
		r = PAM_SYSTEM_ERR;
		goto out;
	}
	for (i = 0; i < a.nops; i++)
		for (k = 0; k < (a.ops[i] == OP_AUTH ? a.repeat : 1); k++)
			r = run_op(pamh, a.ops[i]);
 out:
	if (pamh != NULL)
		pam_end(pamh, r);
	free(a.script.answers);
	return r;
}
