/*
 * bench_echo.c: the floor for pwlessd's key checks.  A bare epoll server
 * on a Unix socket that reads whole frames and answers each with what
 * pwlessd sends for a good key (header, status OK: 14 bytes), touching no
 * database and no crypto.  Runs until killed.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pwless/proto.h"

#define MAX_FDS		4096

struct conn {
	size_t	inlen;
	uint8_t	in[PWL_HDR_LEN + PWL_REQ_MAX];
};

static struct conn *conns[MAX_FDS];

static int
listen_on(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path));
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, 256) != 0)
		return -1;
	return fd;
}

static void
drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

static void
accept_one(int ep, int lfd)
{
	struct epoll_event ev;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (fd >= MAX_FDS || (conns[fd] = calloc(1, sizeof(**conns))) == NULL) {
		close(fd);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		drop(ep, fd);
}

/*
 * Reads the header and the body that came with it, as pwlessd's
 * conn_read does; answers a whole frame.  -1: drop the client.
 */
static int
serve(int fd, struct conn *c)
{
	struct pwl_hdr h;
	uint8_t out[PWL_HDR_LEN + 2];
	size_t want;
	ssize_t n;

	for (;;) {
		want = PWL_HDR_LEN;
		if (c->inlen >= PWL_HDR_LEN) {
			if (pwl_hdr_decode(c->in, PWL_REQ_MAX, &h) != 0)
				return -1;
			want += h.body_len;
		}
		n = recv(fd, c->in + c->inlen, want - c->inlen, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return 0;
		c->inlen += (size_t)n;
		if (c->inlen < PWL_HDR_LEN)
			return 0;
		if (pwl_hdr_decode(c->in, PWL_REQ_MAX, &h) != 0)
			return -1;
		if (c->inlen == PWL_HDR_LEN + h.body_len)
			break;
	}
	h.body_len = 2;
	pwl_hdr_encode(&h, out);
	out[PWL_HDR_LEN] = 0;
	out[PWL_HDR_LEN + 1] = 0;
	c->inlen = 0;
	return send(fd, out, sizeof(out), MSG_NOSIGNAL) ==
	    (ssize_t)sizeof(out) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[64];
	int ep, lfd, i, n, fd;

	if (argc != 3 || strcmp(argv[1], "-S") != 0) {
		fprintf(stderr, "usage: bench_echo -S SOCKET\n");
		return 64;
	}
	if ((lfd = listen_on(argv[2])) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror(argv[2]);
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		return 1;
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd)
				accept_one(ep, lfd);
			else if (fd >= 0 && fd < MAX_FDS && conns[fd] != NULL &&
			    serve(fd, conns[fd]) != 0)
				drop(ep, fd);
		}
	}
}
