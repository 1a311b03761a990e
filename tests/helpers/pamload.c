/*
 * pamload.c: load generator for pwlessd.  Forks honest clients that run
 * real libpam with the built module (pam_start_confdir, pam_authenticate,
 * pam_end) in a loop, plus clients that send garbage and clients that
 * send half a frame and fall silent (half of those as -U UID, half as
 * they were started); at the end prints one line of key=value figures:
 * requests, results, latency percentiles.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAXN		100000	/* latencies kept per honest client */
#define NRES		64	/* PAM result codes counted */
#define SLOW_CONNS	24	/* connections one slow client holds */

struct slot {
	uint32_t	 n;		/* requests done */
	uint32_t	 res[NRES];	/* by PAM result */
	uint64_t	 sent;		/* garbage and slow clients: conns */
	uint32_t	 lat[MAXN];	/* microseconds */
};

struct args {
	const char	*dir, *service, *user, *key, *sock;
	int		 clients, garbage, slow, seconds;
	uid_t		 uid;		/* for garbage and slow, 0 = as is */
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r;
	int i;

	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(data);
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup("");
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void
no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static void
honest(const struct args *a, struct slot *s, int64_t end)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h;
	int64_t t0;
	int r;

	c.appdata_ptr = strdup(a->key);
	while (now_us() < end) {
		t0 = now_us();
		h = NULL;
		r = pam_start_confdir(a->service, a->user, &c, a->dir, &h);
		if (r == PAM_SUCCESS) {
			(void)pam_set_item(h, PAM_FAIL_DELAY,
			    (const void *)no_delay);
			r = pam_authenticate(h, PAM_SILENT);
			pam_end(h, r);
		}
		if (s->n < MAXN)
			s->lat[s->n] = (uint32_t)(now_us() - t0);
		s->n++;
		s->res[r >= 0 && r < NRES ? r : NRES - 1]++;
	}
	free(c.appdata_ptr);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 1, 0 };
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A 12-byte header: body_len, major, minor, type, req_id. */
static void
header(uint8_t *p, uint32_t len, uint8_t major, uint16_t type)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[4] = major;
	p[5] = 0;
	p[6] = (uint8_t)(type >> 8);
	p[7] = (uint8_t)type;
	memset(p + 8, 0, 4);
}

/* One garbage connection of a random kind; reads what comes back. */
static void
garbage_one(const struct args *a, unsigned *seed)
{
	uint8_t buf[8192];
	size_t n = 12;
	int fd, i, kind = (int)(rand_r(seed) % 6);

	if ((fd = connect_to(a->sock)) < 0)
		return;
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)rand_r(seed);
	switch (kind) {
	case 0:		/* random bytes */
		n = 1 + (size_t)rand_r(seed) % sizeof(buf);
		break;
	case 1:		/* a body far over the limit */
		header(buf, 0xfffffff0u, 1, 0x0101);
		break;
	case 2:		/* a sane header, a random body */
		n = 12 + (size_t)(rand_r(seed) % 4000);
		header(buf, (uint32_t)(n - 12), 1, 0x0101);
		break;
	case 3:		/* another major version */
		header(buf, 0, 9, 0x0001);
		break;
	case 4:		/* connect and go */
		n = 0;
		break;
	default:	/* a type nobody knows */
		header(buf, 0, 1, 0x7777);
		break;
	}
	if (n > 0)
		(void)send(fd, buf, n, MSG_NOSIGNAL);
	while (kind != 4 && recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
}

static void
garbage(const struct args *a, struct slot *s, int64_t end, unsigned seed)
{
	while (now_us() < end) {
		garbage_one(a, &seed);
		s->sent++;
	}
}

/* Holds SLOW_CONNS connections that sent half a header, reopening each
 * (at most every 100 ms) when pwlessd drops it. */
static void
slow(const struct args *a, struct slot *s, int64_t end)
{
	struct pollfd p[SLOW_CONNS];
	int64_t again[SLOW_CONNS];
	uint8_t half[6] = { 0, 0, 0, 40, 1, 0 }, b[64];
	int i;

	for (i = 0; i < SLOW_CONNS; i++) {
		p[i].fd = -1;
		again[i] = 0;
	}
	while (now_us() < end) {
		for (i = 0; i < SLOW_CONNS; i++) {
			if (p[i].fd >= 0 || now_us() < again[i])
				continue;
			again[i] = now_us() + 100000;
			if ((p[i].fd = connect_to(a->sock)) < 0)
				continue;
			p[i].events = POLLIN;
			(void)send(p[i].fd, half, sizeof(half), MSG_NOSIGNAL);
			s->sent++;
		}
		if (poll(p, SLOW_CONNS, 100) <= 0)
			continue;
		for (i = 0; i < SLOW_CONNS; i++)
			if (p[i].fd >= 0 && p[i].revents != 0 &&
			    recv(p[i].fd, b, sizeof(b), MSG_DONTWAIT) <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
			}
	}
	for (i = 0; i < SLOW_CONNS; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
}

static int
cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n == 0 ? 0 : v[i] / 1000.0;
}

static void
report(const struct args *a, struct slot **slots, int nh, int ng, int ns)
{
	uint64_t total = 0, res[NRES] = { 0 }, gsent = 0, ssent = 0;
	uint32_t *all;
	size_t n = 0, k;
	int i, r;

	for (i = 0; i < nh; i++)
		total += slots[i]->n;
	if ((all = calloc(total + 1, sizeof(*all))) == NULL)
		exit(1);
	for (i = 0; i < nh; i++) {
		for (k = 0; k < slots[i]->n && k < MAXN; k++)
			all[n++] = slots[i]->lat[k];
		for (r = 0; r < NRES; r++)
			res[r] += slots[i]->res[r];
	}
	for (i = nh; i < nh + ng; i++)
		gsent += slots[i]->sent;
	for (i = nh + ng; i < nh + ng + ns; i++)
		ssent += slots[i]->sent;
	qsort(all, n, sizeof(*all), cmp_u32);
	printf("clients=%d seconds=%d requests=%llu ok=%llu unavail=%llu "
	    "other=%llu p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	    "garbage=%llu slow=%llu", a->clients, a->seconds,
	    (unsigned long long)total, (unsigned long long)res[PAM_SUCCESS],
	    (unsigned long long)res[PAM_AUTHINFO_UNAVAIL],
	    (unsigned long long)(total - res[PAM_SUCCESS] -
	    res[PAM_AUTHINFO_UNAVAIL]), pct(all, n, .5), pct(all, n, .9),
	    pct(all, n, .99), n > 0 ? all[n - 1] / 1000.0 : 0,
	    (unsigned long long)gsent, (unsigned long long)ssent);
	for (r = 0; r < NRES; r++)
		if (r != PAM_SUCCESS && res[r] > 0)
			printf(" pam%d=%llu", r, (unsigned long long)res[r]);
	printf("\n");
	free(all);
}

static pid_t
spawn(const struct args *a, struct slot *s, int kind, int64_t end, int i)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (kind != 0 && a->uid != 0 && i % 2 == 0 &&
	    (setgid(a->uid) != 0 || setuid(a->uid) != 0))
		_exit(2);
	if (kind == 0)
		honest(a, s, end);
	else if (kind == 1)
		garbage(a, s, end, (unsigned)getpid() * 2654435761u +
		    (unsigned)i);
	else
		slow(a, s, end);
	_exit(0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pamload -d CONFDIR -s SERVICE -u USER -k KEY "
	    "[-c CLIENTS] [-t SECONDS]\n"
	    "               [-S SOCKET [-g GARBAGE] [-l SLOW] [-U UID]]\n");
	exit(64);
}

static void
parse(int argc, char **argv, struct args *a)
{
	int ch;

	memset(a, 0, sizeof(*a));
	a->clients = 10;
	a->seconds = 5;
	while ((ch = getopt(argc, argv, "d:s:u:k:c:t:S:g:l:U:")) != -1) {
		switch (ch) {
		case 'd': a->dir = optarg; break;
		case 's': a->service = optarg; break;
		case 'u': a->user = optarg; break;
		case 'k': a->key = optarg; break;
		case 'c': a->clients = (int)strtol(optarg, NULL, 10); break;
		case 't': a->seconds = (int)strtol(optarg, NULL, 10); break;
		case 'S': a->sock = optarg; break;
		case 'g': a->garbage = (int)strtol(optarg, NULL, 10); break;
		case 'l': a->slow = (int)strtol(optarg, NULL, 10); break;
		case 'U': a->uid = (uid_t)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (a->dir == NULL || a->service == NULL || a->user == NULL ||
	    a->key == NULL || a->clients < 0 || a->clients > 2000 ||
	    a->seconds < 1 || a->garbage < 0 || a->slow < 0 ||
	    ((a->garbage > 0 || a->slow > 0) && a->sock == NULL))
		usage();
}

int
main(int argc, char **argv)
{
	struct args a;
	struct slot **slots;
	pid_t *pids;
	int64_t end;
	int i, n, kind;

	parse(argc, argv, &a);
	signal(SIGPIPE, SIG_IGN);
	n = a.clients + a.garbage + a.slow;
	if ((slots = calloc((size_t)n, sizeof(*slots))) == NULL ||
	    (pids = calloc((size_t)n, sizeof(*pids))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		slots[i] = mmap(NULL, sizeof(struct slot), PROT_READ |
		    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (slots[i] == MAP_FAILED)
			return 1;
	}
	end = now_us() + (int64_t)a.seconds * 1000000;
	for (i = 0; i < n; i++) {
		kind = i < a.clients ? 0 : i < a.clients + a.garbage ? 1 : 2;
		if ((pids[i] = spawn(&a, slots[i], kind, end, i)) < 0) {
			perror("fork");
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	report(&a, slots, a.clients, a.garbage, a.slow);
	for (i = 0; i < n; i++)
		munmap(slots[i], sizeof(struct slot));
	free(slots);
	free(pids);
	return 0;
}
