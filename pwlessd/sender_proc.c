/*
 * sender_proc.c: the sender child's life as seen from pwlessd: fork and
 * exec pwlessd-sender (a separate program, so libcurl never runs in this
 * process and the child holds neither the database nor the master key),
 * read its reports, notice when it dies or hangs, and start it again with
 * a growing delay.  The child dies with pwlessd (PR_SET_PDEATHSIG).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "outbox_int.h"
#include "pwlessd.h"
#include "util.h"

#define SENDER_FD	3	/* the child's end of the socketpair */
#define RESPAWN_MAX	60	/* seconds between restarts, at most */
#define HANG_GRACE	30	/* beyond the curl timeouts */
#define MAX_RESULTS	64

static int
need_sender(const struct config *c)
{
	return c->email_transport != TR_NONE || c->sms_transport != TR_NONE;
}

/* In the child: a clean exec with fd 3 and an empty environment. */
static void
child(struct daemon *d, int sv, pid_t parent)
{
	char *argv[8], *envp[] = { NULL };
	sigset_t none;
	int i = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(126);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sv == SENDER_FD)
		fcntl(sv, F_SETFD, 0);
	else if (dup2(sv, SENDER_FD) != SENDER_FD)
		_exit(126);
	close_range(SENDER_FD + 1, ~0U, 0);
	argv[i++] = (char *)"pwlessd-sender";
	argv[i++] = (char *)"-c";
	argv[i++] = (char *)d->cfg_path;
	if (d->cfg_must_exist)
		argv[i++] = (char *)"-m";
	if (d->foreground)
		argv[i++] = (char *)"-f";
	if (log_debug_enabled())
		argv[i++] = (char *)"-d";
	argv[i] = NULL;
	execve(d->cfg.sender, argv, envp);
	_exit(127);
}

static int
spawn(struct daemon *d)
{
	struct outbox *ob = d->outbox;
	struct epoll_event ev;
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child(d, sv[1], parent);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = sv[0];
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, sv[0], &ev) != 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		ob->reap = pid;
		return -1;
	}
	ob->fd = sv[0];
	ob->pid = pid;
	ob->stale = 0;
	ob->woken = 1;
	log_msg(LOG_INFO, "started sender %s (pid %ld)", d->cfg.sender,
	    (long)pid);
	return 0;
}

static void
reap(struct outbox *ob)
{
	int status;
	pid_t r;

	if (ob->reap < 0)
		return;
	r = waitpid(ob->reap, &status, WNOHANG);
	if (r == 0)
		return;
	if (r == ob->reap && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		log_msg(LOG_ERR, "sender could not be started: check [outbox] "
		    "sender (is pwlessd-sender installed there?)");
	else if (r == ob->reap && WIFEXITED(status) && WEXITSTATUS(status))
		log_msg(LOG_ERR, "sender exited with status %d; see the "
		    "lines above", WEXITSTATUS(status));
	else if (r == ob->reap && WIFSIGNALED(status) &&
	    WTERMSIG(status) != SIGTERM)
		log_msg(LOG_ERR, "sender died of signal %d",
		    WTERMSIG(status));
	ob->reap = -1;
}

/* Closes our end (EOF ends the child) and maybe signals it; reaped later. */
static void
detach(struct daemon *d, int sig)
{
	struct outbox *ob = d->outbox;

	if (ob->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, ob->fd, NULL);
		close(ob->fd);
		ob->fd = -1;
	}
	if (ob->pid > 0) {
		if (sig != 0)
			kill(ob->pid, sig);
		ob->reap = ob->pid;
		ob->pid = -1;
	}
}

static void
lost(struct daemon *d, const char *why, int sig)
{
	struct outbox *ob = d->outbox;
	int64_t now = time(NULL);

	detach(d, sig);
	outbox_lost(d, why);
	ob->respawn_delay = ob->respawn_delay == 0 ? 1 :
	    ob->respawn_delay * 2 > RESPAWN_MAX ? RESPAWN_MAX :
	    ob->respawn_delay * 2;
	ob->respawn_at = now + ob->respawn_delay;
	log_msg(LOG_WARNING, "sender %s; starting it again in %llds", why,
	    (long long)ob->respawn_delay);
}

/* Parses one report; 0, or -1 if it is not a well-formed SEND reply. */
static int
parse_result(const uint8_t *buf, size_t n, struct result *res)
{
	struct pwl_hdr h;
	struct pwl_msg m;
	uint64_t id;

	memset(res, 0, sizeof(*res));
	if (n < PWL_HDR_LEN || pwl_hdr_decode(buf, PWL_RESP_MAX, &h) != 0 ||
	    h.type != PWL_MSG_SEND || h.body_len != n - PWL_HDR_LEN ||
	    pwl_msg_parse(buf + PWL_HDR_LEN, h.body_len, 1, &m) != 0 ||
	    pwl_msg_u64(&m, PWL_T_OUTBOX_ID, &id) != 0)
		return -1;
	res->id = (int64_t)id;
	res->status = m.status;
	if (pwl_msg_str(&m, PWL_T_MESSAGE, res->error,
	    sizeof(res->error)) != 0)
		pwl_strlcpy(res->error, m.status == PWL_ST_OK ? "" :
		    "no reason given", sizeof(res->error));
	return 0;
}

/* Reads every report waiting; -1 when the sender is gone or confused. */
static int
read_results(struct daemon *d)
{
	static struct result res[MAX_RESULTS];
	uint8_t buf[PWL_HDR_LEN + PWL_RESP_MAX];
	ssize_t k;
	int n = 0, r = 0;

	for (;;) {
		k = recv(d->outbox->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (k <= 0 || parse_result(buf, (size_t)k, &res[n]) != 0) {
			r = -1;
			break;
		}
		if (++n == MAX_RESULTS) {
			outbox_results(d, res, n);
			n = 0;
		}
	}
	if (n > 0)
		outbox_results(d, res, n);
	d->outbox->respawn_delay = r == 0 ? 0 : d->outbox->respawn_delay;
	return r;
}

int
outbox_event(struct daemon *d, int fd, uint32_t events)
{
	struct outbox *ob = d->outbox;

	if (ob == NULL || ob->fd < 0 || fd != ob->fd)
		return 0;
	if (read_results(d) != 0 ||
	    ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)))
		lost(d, "exited or sent garbage", SIGKILL);
	return 1;
}

/* Deliveries that outlived every curl timeout mean a hung sender. */
static int
hung(const struct daemon *d, int64_t now)
{
	const struct outbox *ob = d->outbox;
	int64_t limit = (int64_t)(d->cfg.outbox_connect_timeout +
	    d->cfg.outbox_timeout) + HANG_GRACE;
	int i;

	for (i = 0; i < ob->nfl; i++)
		if (now - ob->fl[i].started > limit)
			return 1;
	return 0;
}

void
sender_check(struct daemon *d, int64_t now)
{
	struct outbox *ob = d->outbox;

	reap(ob);
	if (ob->fd >= 0 && hung(d, now))
		lost(d, "stopped answering", SIGKILL);
	if (ob->fd >= 0 && ob->stale && ob->nfl == 0)
		detach(d, 0);	/* reload: EOF ends it, the next one reads it */
	if (ob->fd >= 0 || ob->reap >= 0 || !need_sender(&d->cfg) ||
	    now < ob->respawn_at || d->epfd < 0)
		return;
	if (spawn(d) != 0) {
		log_msg(LOG_ERR, "cannot start the sender: %s",
		    strerror(errno));
		ob->respawn_at = now + RESPAWN_MAX;
	}
}

/*
 * At shutdown: closing our end tells the child to stop (EOF); if it has
 * not gone within two seconds it is killed.
 */
void
sender_stop(struct daemon *d, int wait)
{
	struct outbox *ob = d->outbox;
	int i;

	detach(d, 0);
	for (i = 0; wait && ob->reap > 0 && i < 200; i++) {
		if (waitpid(ob->reap, NULL, WNOHANG) == ob->reap)
			ob->reap = -1;
		else
			usleep(10000);
	}
	if (wait && ob->reap > 0) {
		kill(ob->reap, SIGKILL);
		waitpid(ob->reap, NULL, 0);
		ob->reap = -1;
	}
}
