/*
 * benchlib.h: what the benchmark drivers share: P worker processes that
 * set up, warm up, start together on a barrier, run one operation until a
 * count or a time is reached, and send their latencies to the parent,
 * which prints one RESULT line (p50, p99, rate).  Figures only, no asserts.
 */
#ifndef PWL_BENCHLIB_H
#define PWL_BENCHLIB_H

#include <stdint.h>

#define BENCH_PROCS_MAX	64

struct bench_ops {
	int	(*setup)(void *arg, int child);	/* 0, or -1 to give up */
	int	(*once)(void *arg, long i);	/* 1 when it succeeded */
	void	(*teardown)(void *arg);
};

struct bench_cfg {
	const char	*label;		/* first field of the RESULT line */
	int		 procs;		/* worker processes */
	long		 warmup;	/* untimed operations per worker */
	long		 max_n;		/* timed operations per worker, max */
	int64_t		 dur_ns;	/* and for at most this long */
};

struct bench_result {
	uint64_t	ok;
	uint64_t	fail;
	double		secs;		/* first start to last end of all */
	double		p50_us;
	double		p99_us;
	double		rate;		/* operations per second, all workers */
};

int64_t	bench_now_ns(void);

/* Parses a count or milliseconds option; exits 64 when malformed. */
long	bench_arg_long(const char *opt, const char *s, long min, long max);

/* Fills cfg with defaults: 1 process, 100 warm-up, 1e6 max, 3 s. */
void	bench_cfg_init(struct bench_cfg *, const char *label);

/* Runs the workers; 0, or -1 when a worker could not start. */
int	bench_run(const struct bench_cfg *, const struct bench_ops *,
	    void *arg, struct bench_result *);

/*
 * RESULT label=L procs=P ok=N fail=N secs=S p50_us=X p99_us=Y rate=R
 * on stdout, the line tests/bench/run reads.
 */
void	bench_print(const struct bench_cfg *, const struct bench_result *);

#endif /* PWL_BENCHLIB_H */
