/*
 * benchlib.c: worker processes with a start barrier, latency collection
 * and the RESULT line (benchlib.h).  Each worker writes a header and its
 * latencies (nanoseconds, u32) to its own pipe; the parent merges them.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

struct wres {
	uint64_t	ok;
	uint64_t	fail;
	int64_t		start;		/* ns, CLOCK_MONOTONIC */
	int64_t		end;
	uint64_t	n;		/* latencies that follow */
};

struct lat {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

long
bench_arg_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench: %s wants a number from %ld to %ld, "
		    "not '%s'\n", opt, min, max, s);
		exit(64);
	}
	return v;
}

void
bench_cfg_init(struct bench_cfg *c, const char *label)
{
	memset(c, 0, sizeof(*c));
	c->label = label;
	c->procs = 1;
	c->warmup = 100;
	c->max_n = 1000000;
	c->dur_ns = 3000000000LL;
}

static int
lat_add(struct lat *l, int64_t ns)
{
	uint32_t *nv;
	size_t ncap;

	if (l->n == l->cap) {
		ncap = l->cap == 0 ? 4096 : l->cap * 2;
		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = ns < 0 ? 0 : ns > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)ns;
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, b, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The timed loop of one worker; fills w and l. */
static void
timed(const struct bench_cfg *c, const struct bench_ops *ops, void *arg,
    struct wres *w, struct lat *l)
{
	int64_t t0, t1, deadline;
	long i;

	w->start = bench_now_ns();
	deadline = w->start + c->dur_ns;
	for (i = 0; i < c->max_n; i++) {
		t0 = bench_now_ns();
		if (ops->once(arg, c->warmup + i))
			w->ok++;
		else
			w->fail++;
		t1 = bench_now_ns();
		if (lat_add(l, t1 - t0) != 0 || t1 >= deadline)
			break;
	}
	w->end = bench_now_ns();
	w->n = l->n;
}

static void __attribute__((noreturn))
worker(const struct bench_cfg *c, const struct bench_ops *ops, void *arg,
    int child, const int fds[3])
{
	struct wres w;
	struct lat l = { NULL, 0, 0 };
	char b;
	long i;

	memset(&w, 0, sizeof(w));
	if (ops->setup(arg, child) != 0)
		_exit(2);
	for (i = 0; i < c->warmup; i++)
		(void)ops->once(arg, i);
	if (write_all(fds[0], "r", 1) != 0)
		_exit(2);
	close(fds[0]);		/* so a worker that died shows as EOF */
	(void)read(fds[1], &b, 1);	/* EOF: the parent said go */
	timed(c, ops, arg, &w, &l);
	if (ops->teardown != NULL)
		ops->teardown(arg);
	if (write_all(fds[2], &w, sizeof(w)) != 0 ||
	    write_all(fds[2], l.v, l.n * sizeof(*l.v)) != 0)
		_exit(2);
	_exit(0);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Reads one worker's report into r and all; -1 if it sent none. */
static int
collect(int fd, struct bench_result *r, struct lat *all, int64_t *t0,
    int64_t *t1)
{
	struct wres w;
	size_t need;
	uint32_t *nv;

	if (read_all(fd, &w, sizeof(w)) != 0)
		return -1;
	need = all->n + (size_t)w.n;
	if (need > all->cap) {
		if ((nv = realloc(all->v, need * sizeof(*nv))) == NULL)
			return -1;
		all->v = nv;
		all->cap = need;
	}
	if (read_all(fd, all->v + all->n, (size_t)w.n * sizeof(*nv)) != 0)
		return -1;
	all->n = need;
	r->ok += w.ok;
	r->fail += w.fail;
	if (*t0 == 0 || w.start < *t0)
		*t0 = w.start;
	if (w.end > *t1)
		*t1 = w.end;
	return 0;
}

static void
summarise(struct bench_result *r, struct lat *all, int64_t t0, int64_t t1)
{
	r->secs = (double)(t1 - t0) / 1e9;
	r->rate = r->secs > 0 ? (double)(r->ok + r->fail) / r->secs : 0;
	if (all->n == 0)
		return;
	qsort(all->v, all->n, sizeof(*all->v), cmp_u32);
	r->p50_us = all->v[(all->n - 1) / 2] / 1e3;
	r->p99_us = all->v[(size_t)((double)(all->n - 1) * 0.99)] / 1e3;
}

/* Forks the workers; *n counts those in pids and outs. */
static int
spawn(const struct bench_cfg *c, const struct bench_ops *ops, void *arg,
    int ready[2], int go[2], pid_t *pids, int *outs, int *n)
{
	int i, out[2], fds[3];

	for (i = 0; i < c->procs; i++) {
		if (pipe(out) != 0)
			return -1;
		if ((pids[i] = fork()) < 0) {
			close(out[0]);
			close(out[1]);
			return -1;
		}
		if (pids[i] == 0) {
			close(ready[0]);
			close(go[1]);
			close(out[0]);
			fds[0] = ready[1];
			fds[1] = go[0];
			fds[2] = out[1];
			worker(c, ops, arg, i, fds);
		}
		close(out[1]);
		outs[i] = out[0];
		*n = i + 1;
	}
	return 0;
}

int
bench_run(const struct bench_cfg *c, const struct bench_ops *ops, void *arg,
    struct bench_result *r)
{
	pid_t pids[BENCH_PROCS_MAX];
	int outs[BENCH_PROCS_MAX], ready[2], go[2], i, n = 0, rc = -1;
	struct lat all = { NULL, 0, 0 };
	int64_t t0 = 0, t1 = 0;
	char b;

	memset(r, 0, sizeof(*r));
	if (c->procs < 1 || c->procs > BENCH_PROCS_MAX ||
	    pipe(ready) != 0 || pipe(go) != 0)
		return -1;
	fflush(NULL);
	if (spawn(c, ops, arg, ready, go, pids, outs, &n) != 0)
		goto out;
	close(ready[1]);
	ready[1] = -1;
	close(go[0]);
	for (i = 0; i < n; i++)
		if (read_all(ready[0], &b, 1) != 0)
			goto out;
	close(go[1]);
	go[1] = -1;
	for (i = 0; i < n; i++)
		if (collect(outs[i], r, &all, &t0, &t1) != 0)
			goto out;
	summarise(r, &all, t0, t1);
	rc = 0;
 out:
	if (go[1] >= 0)
		close(go[1]);
	if (ready[1] >= 0)
		close(ready[1]);
	close(ready[0]);
	for (i = 0; i < n; i++) {
		if (rc != 0)
			kill(pids[i], SIGKILL);
		close(outs[i]);
		waitpid(pids[i], NULL, 0);
	}
	free(all.v);
	return rc;
}

void
bench_print(const struct bench_cfg *c, const struct bench_result *r)
{
	printf("RESULT label=%s procs=%d ok=%llu fail=%llu secs=%.3f "
	    "p50_us=%.1f p99_us=%.1f rate=%.1f\n", c->label, c->procs,
	    (unsigned long long)r->ok, (unsigned long long)r->fail, r->secs,
	    r->p50_us, r->p99_us, r->rate);
	fflush(stdout);
}
