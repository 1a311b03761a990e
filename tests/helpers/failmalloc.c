/*
 * failmalloc.c: LD_PRELOAD shim for the fault tests.  With PWL_FAILMALLOC=N
 * the Nth malloc, calloc, realloc or strdup of this process returns NULL
 * (N = 0 fails none and only counts).  Allocations made while logging
 * (pam_syslog, pam_vsyslog, syslog) are counted and marked, since a module
 * cannot see those fail.  At exit, or when the Nth call fails, one line
 * goes to stderr:
 *   failmalloc: failed call N log=0|1    and    failmalloc: calls=T log=L
 * and after a failed call the stack it came from (see trace()).
 * Only the process that loaded the shim is affected: a fork passes through,
 * and the variable is removed from the environment of what it runs.  Not
 * for processes built with ASan: its malloc and this one cannot mix.
 */
#include "config.h"

#include <sys/types.h>

#include <dlfcn.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

/* glibc's own allocator, under its exported internal names. */
void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);

void	*malloc(size_t);
void	*calloc(size_t, size_t);
void	*realloc(void *, size_t);
char	*strdup(const char *);
void	 __syslog_chk(int, int, const char *, ...);
void	 __vsyslog_chk(int, int, const char *, va_list);

static unsigned long	 fail_at;	/* N, 0 = never */
static unsigned long	 calls;		/* counted so far */
static unsigned long	 log_calls;	/* of which while logging */
static pid_t		 owner;		/* the process we act in */
static int		 in_log;	/* depth of logging calls */
static int		 ready;
static void		*self_base;	/* where this shim is loaded */

static void (*real_vsyslog_chk)(int, int, const char *, va_list);
static void (*real_pam_vsyslog)(const pam_handle_t *, int, const char *,
    va_list);

/* "failmalloc: <an><a> <bn><b>", written without allocating. */
static void
say(const char *an, unsigned long a, const char *bn, unsigned long b)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "failmalloc: %s%lu %s%lu\n", an, a,
	    bn, b);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)write(2, line, (size_t)n);
}

__attribute__((constructor)) static void
init(void)
{
	const char *v = getenv("PWL_FAILMALLOC");
	void *frames[1];
	Dl_info di;

	owner = getpid();
	fail_at = v != NULL ? strtoul(v, NULL, 10) : 0;
	(void)unsetenv("PWL_FAILMALLOC");
	real_vsyslog_chk = (void (*)(int, int, const char *, va_list))
	    dlsym(RTLD_NEXT, "__vsyslog_chk");
	real_pam_vsyslog = (void (*)(const pam_handle_t *, int,
	    const char *, va_list))dlsym(RTLD_NEXT, "pam_vsyslog");
	if (dladdr((void *)init, &di) != 0)
		self_base = di.dli_fbase;
	(void)backtrace(frames, 1);	/* loads libgcc_s now, not later */
	ready = 1;
}

__attribute__((destructor)) static void
fini(void)
{
	if (ready && getpid() == owner)
		say("calls=", calls, "log=", log_calls);
}

/*
 * Where the failed call came from: the objects on the stack, outermost
 * first, as "failmalloc: stack=pamdrive>libpam.so.0>libc.so.6" (our own
 * frames left out, so the last one asked for the memory), then the frames.
 */
static void
trace(void)
{
	char line[512] = "failmalloc: stack=", *name;
	const char *last = NULL;
	void *frames[32];
	Dl_info di;
	size_t off;
	int n, i;

	n = backtrace(frames, 32);
	for (i = n - 1; i >= 0; i--) {
		if (dladdr(frames[i], &di) == 0 || di.dli_fname == NULL ||
		    di.dli_fbase == self_base)
			continue;
		name = strrchr(di.dli_fname, '/');
		name = name != NULL ? name + 1 : (char *)di.dli_fname;
		if (last != NULL && strcmp(last, name) == 0)
			continue;
		off = strlen(line);
		snprintf(line + off, sizeof(line) - off, "%s%s",
		    last != NULL ? ">" : "", name);
		last = name;
	}
	off = strlen(line);
	snprintf(line + off, sizeof(line) - off, "\n");
	(void)write(2, line, strlen(line));
	backtrace_symbols_fd(frames, n, 2);
}

/* 1 when this call is the one to fail. */
static int
fail_now(void)
{
	if (!ready || getpid() != owner)
		return 0;
	calls++;
	if (in_log > 0)
		log_calls++;
	if (calls != fail_at)
		return 0;
	say("failed call ", calls, "log=", (unsigned long)(in_log > 0));
	trace();
	return 1;
}

void *
malloc(size_t n)
{
	return fail_now() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t sz)
{
	return fail_now() ? NULL : __libc_calloc(n, sz);
}

void *
realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __libc_realloc(p, n);
}

char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fail_now() || (p = __libc_malloc(n)) == NULL)
		return NULL;
	return memcpy(p, s, n);
}

/* --- logging: counted apart ----------------------------------------------- */

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	in_log++;
	if (real_vsyslog_chk != NULL)
		real_vsyslog_chk(pri, flag, fmt, ap);
	in_log--;
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vsyslog_chk(pri, flag, fmt, ap);
	va_end(ap);
}

void
pam_vsyslog(const pam_handle_t *pamh, int pri, const char *fmt, va_list ap)
{
	in_log++;
	if (real_pam_vsyslog != NULL)
		real_pam_vsyslog(pamh, pri, fmt, ap);
	in_log--;
}

void
pam_syslog(const pam_handle_t *pamh, int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, pri, fmt, ap);
	va_end(ap);
}
