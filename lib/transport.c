/*
 * transport.c: one request and one reply over pwlessd's Unix socket
 * (transport.h).  Runs inside sshd and sudo: every fd is CLOEXEC and off
 * 0..2, writes use MSG_NOSIGNAL, every wait is a poll under one deadline.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <pwd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

#define BACKLOG_WAIT_MS	5	/* between connects while the backlog is full */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t d = deadline - now_ms();

	return d < 0 ? 0 : (int)d;
}

/* Waits for events on fd until the deadline; 0, TIMEOUT or IO. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left_ms(deadline));
		if (r > 0)
			return 0;
		if (r == 0)
			return PWL_ERR_TIMEOUT;
		if (errno != EINTR)
			return PWL_ERR_IO;
	}
}

/* A socket off fds 0..2, so a closed stdin never becomes our socket. */
static int
safe_socket(void)
{
	int fd, fd2;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || fd > 2)
		return fd;
	fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return fd2;
}

/*
 * The daemon must run as root, as the caller's effective uid (who can only
 * fool itself), or as the "pwless" system user.  Stops a look-alike socket
 * from approving logins when socket= points somewhere writable.
 */
static int
peer_trusted(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr))
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 1;
	if (getpwnam_r("pwless", &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && res->pw_uid == cr.uid)
		return 1;
	return 0;
}

static int
connect_path(const char *path, int64_t deadline, int *fdp)
{
	struct sockaddr_un sun;
	int64_t cdl = now_ms() + PWL_CONNECT_MS;
	int fd, r, err;
	socklen_t elen = sizeof(err);

	*fdp = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return PWL_ERR_INVAL;
	memcpy(sun.sun_path, path, strlen(path));
	if (cdl > deadline)
		cdl = deadline;
	if ((fd = safe_socket()) < 0)
		return PWL_ERR_IO;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == EAGAIN && now_ms() + BACKLOG_WAIT_MS < cdl) {
			/* the daemon's backlog is full: it is busy, not gone */
			(void)poll(NULL, 0, BACKLOG_WAIT_MS);
			continue;
		}
		if (errno == ENOENT || errno == ECONNREFUSED ||
		    errno == ENOTDIR) {
			r = PWL_ERR_NOSOCKET;
			goto fail;
		}
		if (errno == EAGAIN) {
			r = PWL_ERR_TIMEOUT;
			goto fail;
		}
		if (errno != EINPROGRESS && errno != EINTR) {
			r = PWL_ERR_IO;
			goto fail;
		}
		if ((r = wait_fd(fd, POLLOUT, cdl)) != 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0) {
			r = err == ECONNREFUSED ? PWL_ERR_NOSOCKET : PWL_ERR_IO;
			goto fail;
		}
		break;
	}
	if (!peer_trusted(fd)) {
		r = PWL_ERR_UNTRUSTED;
		goto fail;
	}
	*fdp = fd;
	return 0;
 fail:
	close(fd);
	return r;
}

/* Moves a two-part buffer past n bytes. */
static void
iov_skip(struct iovec iov[2], size_t n)
{
	size_t k;
	int i;

	for (i = 0; i < 2; i++) {
		k = n < iov[i].iov_len ? n : iov[i].iov_len;
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
		iov[i].iov_len -= k;
		n -= k;
	}
}

/* Sends both parts, header and body, in one sendmsg when it can. */
static int
write_all(int fd, struct iovec iov[2], int64_t deadline)
{
	struct msghdr mh;
	ssize_t w;
	int r;

	while (iov[0].iov_len + iov[1].iov_len > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 2;
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w > 0) {
			iov_skip(iov, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				return r;
			continue;
		}
		return PWL_ERR_IO;
	}
	return 0;
}

/*
 * Receives into the two-part buffer until at least min bytes came, never
 * more than the parts hold; *got counts them.  min must not exceed them.
 */
static int
read_min(int fd, struct iovec iov[2], size_t min, size_t *got,
    int64_t deadline)
{
	struct msghdr mh;
	ssize_t n;
	int r;

	*got = 0;
	while (*got < min) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 2;
		n = recvmsg(fd, &mh, 0);
		if (n > 0) {
			iov_skip(iov, (size_t)n);
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return PWL_ERR_IO;	/* daemon closed early */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
				return r;
			continue;
		}
		return PWL_ERR_IO;
	}
	return 0;
}

/* Tells our reply from any other; with one request per connection. */
static uint32_t
make_req_id(int fd)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 20) ^
	    (uint32_t)fd;
}

static int
send_request(int fd, uint16_t type, uint32_t id, const uint8_t *req,
    size_t reqlen, int64_t deadline)
{
	struct pwl_hdr h;
	uint8_t hb[PWL_HDR_LEN];
	struct iovec iov[2];

	h.body_len = (uint32_t)reqlen;
	h.major = PWL_PROTO_MAJOR;
	h.minor = PWL_PROTO_MINOR;
	h.type = type;
	h.req_id = id;
	pwl_hdr_encode(&h, hb);
	iov[0].iov_base = hb;
	iov[0].iov_len = sizeof(hb);
	iov[1].iov_base = (void *)(uintptr_t)req;
	iov[1].iov_len = reqlen;
	return write_all(fd, iov, deadline);
}

/* The header and what came of the body with it in one recvmsg. */
static int
recv_reply(int fd, uint16_t type, uint32_t id, struct pwl_reply *rep,
    int64_t deadline)
{
	struct pwl_hdr h;
	uint8_t hb[PWL_HDR_LEN];
	struct iovec iov[2];
	size_t got, more;
	int r;

	iov[0].iov_base = hb;
	iov[0].iov_len = sizeof(hb);
	iov[1].iov_base = rep->buf;
	iov[1].iov_len = sizeof(rep->buf);
	if ((r = read_min(fd, iov, sizeof(hb), &got, deadline)) != 0)
		return r;
	if ((r = pwl_hdr_decode(hb, PWL_RESP_MAX, &h)) != 0)
		return r;
	got -= sizeof(hb);
	if (h.type != type || h.req_id != id || got > h.body_len)
		return PWL_ERR_PROTO;	/* not our reply, or more than one */
	iov[0].iov_len = 0;
	iov[1].iov_base = rep->buf + got;
	iov[1].iov_len = h.body_len - got;
	if ((r = read_min(fd, iov, h.body_len - got, &more, deadline)) != 0)
		return r;
	rep->len = h.body_len;
	if (pwl_msg_parse(rep->buf, rep->len, 1, &rep->msg) != 0)
		return PWL_ERR_PROTO;
	return 0;
}

int
pwl_transact(const char *path, int timeout_ms, uint16_t type,
    const uint8_t *req, size_t reqlen, struct pwl_reply *rep)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms :
	    PWL_DEFAULT_MS);
	uint32_t id;
	int fd = -1, r;

	rep->len = 0;
	rep->msg.n = 0;
	rep->msg.status = PWL_ST_INTERNAL;
	if (reqlen > PWL_REQ_MAX)
		return PWL_ERR_TOOBIG;
	if ((r = connect_path(path, deadline, &fd)) != 0)
		return r;
	id = make_req_id(fd);
	if ((r = send_request(fd, type, id, req, reqlen, deadline)) != 0)
		goto out;
	r = recv_reply(fd, type, id, rep, deadline);
 out:
	close(fd);
	if (r != 0)
		pwl_reply_clear(rep);
	return r;
}

void
pwl_reply_clear(struct pwl_reply *rep)
{
	explicit_bzero(rep->buf, sizeof(rep->buf));
	rep->len = 0;
	rep->msg.n = 0;
	rep->msg.status = PWL_ST_INTERNAL;
}
