/*
 * bench_pam.c: in-process pam_authenticate latency and rate.  Each worker
 * calls pam_start_confdir once, then pam_authenticate over and over with a
 * conversation that answers every prompt; PAM_FAIL_DELAY is a no-op so a
 * failure never sleeps.  Prints one RESULT line (benchlib.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "benchlib.h"

#define USERS_MAX	BENCH_PROCS_MAX

struct pam_bench {
	const char	*dir;		/* -d: PAM config directory */
	const char	*services[USERS_MAX]; /* -s: worker i's is [i % n] */
	int		 nservices;
	const char	*service;	/* this worker's */
	const char	*users[USERS_MAX]; /* -u: worker i is users[i % n] */
	int		 nusers;
	char		**answers;	/* -a, -A: in order, one per operation */
	long		 nanswers;
	const char	*answer;	/* the one for the call in progress */
	pam_handle_t	*pamh;		/* this worker's handle */
	int		 last_err;	/* last failure reported, 0 if none */
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pam -d CONFDIR -s SERVICE... -u USER... "
	    "(-a ANSWER | -A FILE)\n"
	    "                 [-p PROCS] [-n MAX] [-w WARMUP] [-t MS] "
	    "[-l LABEL]\n"
	    "  worker i runs as the i-th -u and -s given (modulo their count)\n"
	    "  -A FILE  one answer per line, used in order (HOTP codes)\n");
	exit(64);
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_bench *b = data;
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG ||
	    (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if ((r[i].resp = strdup(b->answer)) == NULL) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Failures must not sleep: the delay libpam would take is dropped. */
static void
no_delay(int status, unsigned int usec, void *data)
{
	(void)status;
	(void)usec;
	(void)data;
}

static int
setup(void *arg, int child)
{
	struct pam_bench *b = arg;
	struct pam_conv pc = { conv, b };
	const char *user = b->users[child % b->nusers];
	int r;

	b->service = b->services[child % b->nservices];
#ifdef HAVE_PAM_START_CONFDIR
	r = pam_start_confdir(b->service, user, &pc, b->dir, &b->pamh);
#else
	(void)pc;
	(void)user;
	fprintf(stderr, "bench_pam: libpam lacks pam_start_confdir\n");
	return -1;
#endif
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "bench_pam: pam_start: %s\n",
		    pam_strerror(NULL, r));
		return -1;
	}
	if ((r = pam_set_item(b->pamh, PAM_FAIL_DELAY,
	    (const void *)no_delay)) != PAM_SUCCESS) {
		fprintf(stderr, "bench_pam: PAM_FAIL_DELAY: %s\n",
		    pam_strerror(b->pamh, r));
		return -1;
	}
	return 0;
}

static int
once(void *arg, long i)
{
	struct pam_bench *b = arg;
	int r;

	b->answer = b->answers[b->nanswers == 1 ? 0 : i];
	r = pam_authenticate(b->pamh, 0);
	if (r != PAM_SUCCESS && r != b->last_err) {
		fprintf(stderr, "bench_pam: %s: pam_authenticate: %s\n",
		    b->service, pam_strerror(b->pamh, r));
		b->last_err = r;
	}
	return r == PAM_SUCCESS;
}

static void
teardown(void *arg)
{
	struct pam_bench *b = arg;

	pam_end(b->pamh, PAM_SUCCESS);
	b->pamh = NULL;
}

static void
add_answer(struct pam_bench *b, const char *a, size_t *cap)
{
	if ((size_t)b->nanswers == *cap) {
		*cap = *cap == 0 ? 1024 : *cap * 2;
		b->answers = realloc(b->answers, *cap * sizeof(char *));
	}
	if (b->answers == NULL ||
	    (b->answers[b->nanswers++] = strdup(a)) == NULL) {
		perror("bench_pam");
		exit(70);
	}
}

/* Reads FILE, one answer per line, into b->answers. */
static void
load_answers(struct pam_bench *b, const char *path, size_t *cap)
{
	FILE *f;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t n;

	if ((f = fopen(path, "re")) == NULL) {
		perror(path);
		exit(66);
	}
	while ((n = getline(&line, &lcap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		add_answer(b, line, cap);
	}
	free(line);
	fclose(f);
}

static void
parse_args(int argc, char **argv, struct pam_bench *b, struct bench_cfg *c)
{
	size_t cap = 0;
	int ch;

	while ((ch = getopt(argc, argv, "d:s:u:a:A:p:n:w:t:l:")) != -1) {
		switch (ch) {
		case 'd': b->dir = optarg; break;
		case 's':
			if (b->nservices == USERS_MAX)
				usage();
			b->services[b->nservices++] = optarg;
			break;
		case 'u':
			if (b->nusers == USERS_MAX)
				usage();
			b->users[b->nusers++] = optarg;
			break;
		case 'a': add_answer(b, optarg, &cap); break;
		case 'A': load_answers(b, optarg, &cap); break;
		case 'p':
			c->procs = (int)bench_arg_long("-p", optarg, 1,
			    BENCH_PROCS_MAX);
			break;
		case 'n': c->max_n = bench_arg_long("-n", optarg, 1,
			    100000000); break;
		case 'w': c->warmup = bench_arg_long("-w", optarg, 0,
			    10000000); break;
		case 't': c->dur_ns = bench_arg_long("-t", optarg, 1,
			    3600000) * 1000000LL; break;
		case 'l': c->label = optarg; break;
		default: usage();
		}
	}
	if (b->dir == NULL || b->nservices == 0 || b->nusers == 0 ||
	    b->nanswers == 0 || optind != argc)
		usage();
}

static void
free_answers(struct pam_bench *b)
{
	long i;

	for (i = 0; i < b->nanswers; i++)
		free(b->answers[i]);
	free(b->answers);
}

int
main(int argc, char **argv)
{
	struct pam_bench b;
	struct bench_cfg c;
	struct bench_result r;
	const struct bench_ops ops = { setup, once, teardown };
	int rc = 0;

	memset(&b, 0, sizeof(b));
	bench_cfg_init(&c, "pam");
	parse_args(argc, argv, &b, &c);
	if (b.nanswers > 1 && b.nanswers < c.warmup + c.max_n) {
		fprintf(stderr, "bench_pam: -A gives %ld answers; -w + -n "
		    "needs %ld\n", b.nanswers, c.warmup + c.max_n);
		rc = 64;
	} else if (bench_run(&c, &ops, &b, &r) != 0) {
		fprintf(stderr, "bench_pam: %s: a worker could not start\n",
		    c.label);
		rc = 1;
	} else
		bench_print(&c, &r);
	free_answers(&b);
	return rc;
}
