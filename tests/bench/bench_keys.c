/*
 * bench_keys.c: daemon-only key checks.  Each worker sends AUTH_KEY for a
 * random known key through lib/transport.c's pwl_transact, one connection
 * per check as pam_pwless does, and counts OK answers.  Pointed at
 * bench_echo instead of pwlessd it measures the floor.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pwless/proto.h"
#include "benchlib.h"
#include "transport.h"

struct known {
	char	*user;
	char	*key;
};

struct key_bench {
	const char	*socket;	/* -S */
	const char	*service;	/* -s */
	struct known	*keys;		/* -k FILE: "user key" lines */
	size_t		 nkeys;
	int		 ordered;	/* -o: each key once, in file order */
	long		 warmup;	/* checks before timing (in order) */
	int		 child;		/* this worker */
	int		 procs;		/* of how many */
	uint64_t	 rng;		/* xorshift64 state, per worker */
	int		 last_err;	/* last failure reported */
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench_keys -S SOCKET -k KEYFILE [-s SERVICE] "
	    "[-p PROCS] [-n MAX]\n"
	    "                  [-w WARMUP] [-t MS] [-l LABEL] [-o]\n"
	    "  KEYFILE: lines 'user key', as bench_populate writes them.\n"
	    "  Warm-up takes the keys in order, the workers interleaved, so\n"
	    "  -w KEYS/PROCS uses each once; timed checks pick keys at\n"
	    "  random, or with -o go on in order (each key's first check).\n");
	exit(64);
}

static uint64_t
next_rand(struct key_bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

static int
setup(void *arg, int child)
{
	struct key_bench *b = arg;

	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);

	seed ^= (uint64_t)bench_now_ns() ^ ((uint64_t)(unsigned)getpid() << 32);
	b->rng = seed ^ (uint64_t)(unsigned)child;
	b->child = child;
	return 0;
}

static void
report(struct key_bench *b, int err, int st)
{
	int what = err != 0 ? err : 1000 + st;

	if (what == b->last_err)
		return;
	b->last_err = what;
	if (err != 0)
		fprintf(stderr, "bench_keys: %s: %s\n", b->socket,
		    pwl_strerror(err));
	else
		fprintf(stderr, "bench_keys: %s answered %s\n", b->socket,
		    pwl_status_name((uint16_t)st));
}

/* The key for the i-th check of this worker. */
static const struct known *
pick(struct key_bench *b, long i)
{
	size_t n;

	if (i >= b->warmup && !b->ordered)
		return &b->keys[next_rand(b) % b->nkeys];
	n = (size_t)i * (size_t)b->procs + (size_t)b->child;
	return &b->keys[n % b->nkeys];
}

static int
once(void *arg, long i)
{
	struct key_bench *b = arg;
	const struct known *k = pick(b, i);
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_wbuf w;
	struct pwl_reply rep;
	int r;

	pwl_w_init(&w, buf, sizeof(buf));
	pwl_w_str(&w, PWL_T_USER, k->user);
	pwl_w_str(&w, PWL_T_SERVICE, b->service);
	pwl_w_str(&w, PWL_T_KEY, k->key);
	r = pwl_transact(b->socket, 10000, PWL_MSG_AUTH_KEY, w.p, w.len,
	    &rep);
	if (r != 0 || rep.msg.status != PWL_ST_OK) {
		report(b, r, r == 0 ? rep.msg.status : 0);
		return 0;
	}
	return 1;
}

static void
load_keys(struct key_bench *b, const char *path)
{
	char user[PWL_USER_MAX + 1], key[PWL_SECRET_MAX + 1];
	size_t cap = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		perror(path);
		exit(66);
	}
	while (fscanf(f, "%255s %128s", user, key) == 2) {
		if (b->nkeys == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			b->keys = realloc(b->keys, cap * sizeof(*b->keys));
		}
		if (b->keys == NULL ||
		    (b->keys[b->nkeys].user = strdup(user)) == NULL ||
		    (b->keys[b->nkeys].key = strdup(key)) == NULL) {
			perror("bench_keys");
			exit(70);
		}
		b->nkeys++;
	}
	fclose(f);
	if (b->nkeys == 0) {
		fprintf(stderr, "bench_keys: %s holds no 'user key' lines\n",
		    path);
		exit(65);
	}
}

static void
parse_args(int argc, char **argv, struct key_bench *b, struct bench_cfg *c)
{
	int ch;

	while ((ch = getopt(argc, argv, "S:k:s:p:n:w:t:l:o")) != -1) {
		switch (ch) {
		case 'S': b->socket = optarg; break;
		case 'k': load_keys(b, optarg); break;
		case 's': b->service = optarg; break;
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
		case 'o': b->ordered = 1; break;
		default: usage();
		}
	}
	if (b->socket == NULL || b->nkeys == 0 || optind != argc)
		usage();
}

int
main(int argc, char **argv)
{
	struct key_bench b;
	struct bench_cfg c;
	struct bench_result r;
	const struct bench_ops ops = { setup, once, NULL };
	size_t i;
	int rc = 0;

	memset(&b, 0, sizeof(b));
	b.service = "bench";
	bench_cfg_init(&c, "keys");
	parse_args(argc, argv, &b, &c);
	b.warmup = c.warmup;
	b.procs = c.procs;
	if (bench_run(&c, &ops, &b, &r) != 0) {
		fprintf(stderr, "bench_keys: %s: a worker could not start\n",
		    c.label);
		rc = 1;
	} else
		bench_print(&c, &r);
	for (i = 0; i < b.nkeys; i++) {
		free(b.keys[i].user);
		free(b.keys[i].key);
	}
	free(b.keys);
	return rc;
}
