/*
 * listen.c: the socket and the one event loop.  Reads frames with size
 * checks before anything is buffered, answers through dispatch(), and
 * drops clients that stall: 5 s to finish a frame, 30 s idle.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define FRAME_MS	5000	/* to finish a frame once it started */
#define IDLE_MS		30000	/* to start the next one */
#define MAX_CONNS	4096
#define MAX_PER_UID	32	/* for callers other than root */
#define ACCEPT_BATCH	32	/* clients accepted per readiness event */

struct conn {
	int		 fd;
	uid_t		 uid;		/* SO_PEERCRED at accept */
	gid_t		 gid;
	pid_t		 pid;
	int64_t		 deadline;	/* monotonic ms */
	int		 close_after;	/* close once out is written */
	int		 held;		/* out waits for the pass's commit */
	int		 polled_out;	/* registered for EPOLLOUT */
	size_t		 inlen;
	uint8_t		 in[PWL_HDR_LEN + PWL_REQ_MAX];
	uint8_t		*out;		/* unsent reply bytes, or NULL */
	size_t		 outlen;
	size_t		 outoff;
};

static uint8_t reply_buf[PWL_HDR_LEN + PWL_RESP_MAX];	/* one at a time */
static int socket_activated;

#define MAX_EVENTS	64	/* per epoll_wait: at most one reply each */
static int held_fds[MAX_EVENTS];	/* replies waiting for the commit */
static int nheld;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* systemd socket activation: LISTEN_FDS=1 for our pid gives fd 3. */
static int
activated_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t p, n;

	if (pid == NULL || fds == NULL ||
	    pwl_parse_uint(pid, INT32_MAX, &p) != 0 ||
	    (pid_t)p != getpid() || pwl_parse_uint(fds, 64, &n) != 0 || n < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	return 3;
}

static int
already_running(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return 0;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return r;
}

static int
make_socket_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	pwl_strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		chmod(dir, 0755);	/* past our umask: clients must reach it */
		return 0;
	}
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	log_msg(LOG_ERR, "cannot create socket directory %s: %s", dir,
	    strerror(errno));
	return -1;
}

int
listen_open(struct daemon *d)
{
	struct sockaddr_un sun;
	const char *path = d->cfg.socket;
	mode_t old;
	int fd;

	if ((d->listen_fd = activated_fd()) >= 0) {
		socket_activated = 1;
		log_msg(LOG_INFO, "using the socket passed by systemd");
		return 0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (pwl_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path) || make_socket_dir(path) != 0)
		return -1;
	if (already_running(&sun)) {
		log_msg(LOG_ERR, "another pwlessd already listens on %s; stop "
		    "it first", path);
		return -1;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, SOMAXCONN) != 0) {
		umask(old);
		log_msg(LOG_ERR, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	d->listen_fd = fd;
	return 0;
}

static void
conn_free(struct daemon *d, struct conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	d->conns[c->fd] = NULL;
	d->nconns--;
	explicit_bzero(c->in, sizeof(c->in));
	if (c->out != NULL) {
		explicit_bzero(c->out, c->outlen);
		free(c->out);
	}
	free(c);
}

static int
uid_conns(struct daemon *d, uid_t uid)
{
	int fd, n = 0;

	for (fd = 0; fd < d->maxfd; fd++)
		if (d->conns[fd] != NULL && d->conns[fd]->uid == uid)
			n++;
	return n;
}

/* Out of fds: accept with the spare one and close, so clients see EOF. */
static void
shed_one(struct daemon *d)
{
	int fd;

	if (d->reserve_fd < 0)
		return;
	close(d->reserve_fd);
	if ((fd = accept(d->listen_fd, NULL, NULL)) >= 0)
		close(fd);
	d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_msg(LOG_WARNING, "out of file descriptors: refused a client");
}

/* Accepts one client; 0 when none is waiting (or no fd is left). */
static int
conn_accept(struct daemon *d)
{
	struct epoll_event ev;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct conn *c;
	int fd;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			shed_one(d);
		return 0;
	}
	if (fd >= d->maxfd || d->nconns >= MAX_CONNS ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr) ||
	    (cr.uid != 0 && uid_conns(d, cr.uid) >= MAX_PER_UID) ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return 1;
	}
	c->fd = fd;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	c->deadline = now_ms() + IDLE_MS;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		free(c);
		return 1;
	}
	d->conns[fd] = c;
	d->nconns++;
	return 1;
}

static void
want_write(struct daemon *d, struct conn *c, int on)
{
	struct epoll_event ev;

	if (c->polled_out == on)	/* most replies go out at once */
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = on ? EPOLLOUT : EPOLLIN;
	ev.data.fd = c->fd;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->polled_out = on;
}

/* Writes what it can; keeps the rest for EPOLLOUT.  -1: drop client. */
static int
conn_send(struct daemon *d, struct conn *c, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			return -1;
	}
	if (n == 0)
		return c->close_after ? -1 : 0;
	if ((c->out = malloc(n)) == NULL)
		return -1;
	memcpy(c->out, p, n);
	c->outlen = n;
	c->outoff = 0;
	c->deadline = now_ms() + FRAME_MS;
	want_write(d, c, 1);
	return 0;
}

static int
conn_flush(struct daemon *d, struct conn *c)
{
	uint8_t *buf = c->out;
	size_t off = c->outoff, len = c->outlen;
	int r;

	c->out = NULL;
	r = conn_send(d, c, buf + off, len - off);
	explicit_bzero(buf, len);
	free(buf);
	if (r == 0 && c->out == NULL) {
		want_write(d, c, 0);
		c->deadline = now_ms() + IDLE_MS;
	}
	return r;
}

/* Keeps a reply until the pass that made it has committed. */
static int
conn_hold(struct conn *c, const uint8_t *p, size_t n)
{
	if ((c->out = malloc(n)) == NULL)
		return -1;
	memcpy(c->out, p, n);
	c->outlen = n;
	c->outoff = 0;
	c->held = 1;
	held_fds[nheld++] = c->fd;
	return 0;
}

/* A held reply whose changes were lost: UNAVAILABLE instead. */
static int
reply_unavailable(struct conn *c, int sr)
{
	uint8_t buf[PWL_HDR_LEN + 160];
	struct pwl_hdr h;
	struct pwl_wbuf w;

	pwl_hdr_decode(c->out, PWL_RESP_MAX, &h);
	explicit_bzero(c->out, c->outlen);
	free(c->out);
	c->out = NULL;
	pwl_w_init(&w, buf + PWL_HDR_LEN, sizeof(buf) - PWL_HDR_LEN);
	pwl_w_status(&w, PWL_ST_UNAVAILABLE);
	pwl_w_str(&w, PWL_T_MESSAGE, store_failure_text(sr));
	h.body_len = (uint32_t)w.len;
	pwl_hdr_encode(&h, buf);
	if ((c->out = malloc(PWL_HDR_LEN + w.len)) == NULL)
		return -1;
	memcpy(c->out, buf, PWL_HDR_LEN + w.len);
	c->outlen = PWL_HDR_LEN + w.len;
	c->outoff = 0;
	return 0;
}

/* After the pass's commit (ok) or its failure: sends what was held. */
static void
release_held(struct daemon *d, int sr)
{
	struct conn *c;
	int i, fd;

	for (i = 0; i < nheld; i++) {
		fd = held_fds[i];
		if ((c = d->conns[fd]) == NULL || !c->held)
			continue;
		c->held = 0;
		if ((sr != STORE_OK && reply_unavailable(c, sr) != 0) ||
		    conn_flush(d, c) != 0)
			conn_free(d, c);
	}
	nheld = 0;
}

/* Builds the reply frame for hdr into reply_buf and sends it. */
static int
conn_answer(struct daemon *d, struct conn *c, const struct pwl_hdr *h,
    const uint8_t *body, int bad)
{
	struct pwl_hdr rh = *h;
	struct pwl_wbuf w;
	int r;

	pwl_w_init(&w, reply_buf + PWL_HDR_LEN, PWL_RESP_MAX);
	if (bad == PWL_ERR_VERSION) {
		pwl_w_status(&w, PWL_ST_VERSION);
		pwl_w_str(&w, PWL_T_VERSION, PWLESSD_VERSION);
		c->close_after = 1;
	} else if (bad != 0) {
		pwl_w_status(&w, PWL_ST_BAD_REQUEST);
		pwl_w_str(&w, PWL_T_MESSAGE, "request larger than 4096 bytes");
		c->close_after = 1;
	} else {
		if (nheld == MAX_EVENTS)	/* cannot happen; stay safe */
			release_held(d, audit_pass_end(d));
		dispatch(d, c->uid, c->gid, c->pid, h->type, body, h->body_len,
		    &w);
	}
	rh.major = PWL_PROTO_MAJOR;
	rh.minor = PWL_PROTO_MINOR;
	rh.body_len = (uint32_t)w.len;
	pwl_hdr_encode(&rh, reply_buf);
	if (audit_pass_open(d))
		r = conn_hold(c, reply_buf, PWL_HDR_LEN + w.len);
	else
		r = conn_send(d, c, reply_buf, PWL_HDR_LEN + w.len);
	explicit_bzero(reply_buf, PWL_HDR_LEN + w.len);
	return r;
}

/*
 * Reads what is there, the header and then at once the body that came
 * with it (one wakeup per frame, not two); answers once a whole frame is
 * in.  Never reads past the frame.  -1: drop.
 */
static int
conn_read(struct daemon *d, struct conn *c)
{
	struct pwl_hdr h;
	size_t want;
	ssize_t n;
	int bad, r;

	for (;;) {
		want = PWL_HDR_LEN;
		if (c->inlen >= PWL_HDR_LEN) {
			pwl_hdr_decode(c->in, PWL_REQ_MAX, &h);
			want = PWL_HDR_LEN + h.body_len;
		}
		n = recv(c->fd, c->in + c->inlen, want - c->inlen, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return 0;
		if (c->inlen == 0)
			c->deadline = now_ms() + FRAME_MS;
		c->inlen += (size_t)n;
		if (c->inlen < PWL_HDR_LEN)
			return 0;
		bad = pwl_hdr_decode(c->in, PWL_REQ_MAX, &h);
		if (bad != 0 || c->inlen == PWL_HDR_LEN + h.body_len)
			break;
	}
	r = conn_answer(d, c, &h, c->in + PWL_HDR_LEN, bad);
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
	if (c->out == NULL)
		c->deadline = now_ms() + IDLE_MS;
	return r;
}

static void
on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_INFO, "signal %u: stopping", si.ssi_signo);
			d->stopping = 1;
			break;
		case SIGHUP:
			daemon_reload(d);
			break;
		}
	}
}

static void
sweep(struct daemon *d, int64_t now)
{
	int fd;

	for (fd = 0; fd < d->maxfd; fd++)
		if (d->conns[fd] != NULL && d->conns[fd]->deadline <= now)
			conn_free(d, d->conns[fd]);
}

/* Room for MAX_CONNS clients: systemd's default soft limit is 1024. */
static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_msg(LOG_WARNING, "cannot raise the open files limit to %lu: "
		    "%s", (unsigned long)want, strerror(errno));
}

static int
loop_setup(struct daemon *d)
{
	struct epoll_event ev;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	d->maxfd = MAX_CONNS + 64;
	raise_nofile((rlim_t)d->maxfd);
	if ((d->conns = calloc((size_t)d->maxfd, sizeof(*d->conns))) == NULL)
		return -1;
	d->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = d->listen_fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->listen_fd, &ev) != 0)
		return -1;
	ev.data.fd = d->sigfd;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev);
}

static void
on_event(struct daemon *d, const struct epoll_event *ev)
{
	struct conn *c;
	int fd = ev->data.fd, r;

	if (fd == d->listen_fd) {	/* a batch: requests share a pass */
		for (r = 0; r < ACCEPT_BATCH && conn_accept(d); r++)
			;
		return;
	}
	if (fd == d->sigfd) {
		on_signal(d);
		return;
	}
	if (outbox_event(d, fd, ev->events))
		return;
	if (fd < 0 || fd >= d->maxfd || (c = d->conns[fd]) == NULL)
		return;
	if (c->held) {		/* its reply waits for the commit */
		if (ev->events & (EPOLLERR | EPOLLHUP))
			conn_free(d, c);
		return;
	}
	if (ev->events & (EPOLLERR | EPOLLHUP) && !(ev->events & EPOLLIN))
		r = -1;
	else if (c->out != NULL)
		r = conn_flush(d, c);
	else
		r = conn_read(d, c);
	if (r != 0)
		conn_free(d, c);
}

int
listen_loop(struct daemon *d)
{
	struct epoll_event evs[MAX_EVENTS];
	int64_t next_sweep = now_ms() + 1000, now;
	int i, n;

	if (loop_setup(d) != 0) {
		log_msg(LOG_ERR, "cannot set up the event loop: %s",
		    strerror(errno));
		return -1;
	}
	while (!d->stopping) {
		n = epoll_wait(d->epfd, evs, MAX_EVENTS, 1000);
		if (n < 0 && errno != EINTR)
			return -1;
		store_health_pass(d->st);
		for (i = 0; i < n; i++)
			on_event(d, &evs[i]);
		release_held(d, audit_pass_end(d));
		outbox_run(d);
		if ((now = now_ms()) >= next_sweep) {
			sweep(d, now);
			store_watch(d->st);	/* deleted, replaced, damaged */
			tokens_sweep(d, (int64_t)time(NULL));
			audit_prune(d, (int64_t)time(NULL));
			next_sweep = now + 1000;
		}
	}
	return 0;
}

void
listen_close(struct daemon *d)
{
	int fd;

	for (fd = 0; d->conns != NULL && fd < d->maxfd; fd++)
		if (d->conns[fd] != NULL)
			conn_free(d, d->conns[fd]);
	free(d->conns);
	d->conns = NULL;
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		if (!socket_activated)
			unlink(d->cfg.socket);
	}
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->reserve_fd >= 0)
		close(d->reserve_fd);
}
