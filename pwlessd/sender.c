/*
 * sender.c: pwlessd-sender's main and event loop.  pwlessd starts it with
 * a SOCK_SEQPACKET socketpair on fd 3; each datagram is one SEND frame of
 * the pwless codec.  Deliveries run side by side on one curl multi handle
 * (pwlessd bounds how many), each under connect and total timeouts, and
 * every outcome goes back as one frame.  EOF on fd 3 ends the program.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sender.h"
#include "util.h"

#define LINK_FD		3
#define POLL_MS		1000

struct sender {
	struct config	 cfg;
	CURLM		*multi;
	struct job	*jobs;
	int		 eof;		/* pwlessd went away */
};

void
outcome_set(struct outcome *o, uint16_t st, const char *fmt, ...)
{
	va_list ap;
	char *p;

	o->status = st;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
	for (p = o->why; *p != '\0'; p++)	/* the codec wants printable */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
}

/*
 * Reads a secret (password, user:secret) from a file of its own: regular,
 * not readable by others.  Trailing newlines go.  0 or -1 (o says why).
 */
int
read_secret_file(const char *path, char *out, size_t sz, struct outcome *o)
{
	struct stat st;
	ssize_t n;
	int fd;

	out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		outcome_set(o, PWL_ST_UNAVAILABLE, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 007) != 0) {
		close(fd);
		outcome_set(o, PWL_ST_NOT_PERMITTED, "%s must be a regular "
		    "file not readable by others (chmod 640)", path);
		return -1;
	}
	n = read(fd, out, sz - 1);
	close(fd);
	if (n <= 0 || (size_t)n >= sz - 1) {
		explicit_bzero(out, sz);
		outcome_set(o, PWL_ST_NOT_PERMITTED, "%s is empty or too "
		    "long", path);
		return -1;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	return 0;
}

/* What every handle gets: timeouts, no redirects, TLS checks, no signals. */
void
curl_common(struct job *j, const struct config *c, const char *ca)
{
	CURL *h = j->h;

	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    (long)c->outbox_connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->outbox_timeout);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	if (ca != NULL && ca[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->h != NULL)
		curl_easy_cleanup(j->h);
	curl_slist_free_all(j->list);
	if (j->data != NULL) {
		explicit_bzero(j->data, j->len);
		free(j->data);
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Reports one outcome to pwlessd. */
static void
report(const struct send_msg *m, const struct outcome *o)
{
	uint8_t buf[PWL_HDR_LEN + 512];
	struct pwl_hdr h;
	struct pwl_wbuf w;

	pwl_w_init(&w, buf + PWL_HDR_LEN, sizeof(buf) - PWL_HDR_LEN);
	pwl_w_status(&w, o->status);
	pwl_w_u64(&w, PWL_T_OUTBOX_ID, m->id);
	if (o->status != PWL_ST_OK && o->why[0] != '\0')
		pwl_w_str(&w, PWL_T_MESSAGE, o->why);
	memset(&h, 0, sizeof(h));
	h.body_len = (uint32_t)w.len;
	h.major = PWL_PROTO_MAJOR;
	h.minor = PWL_PROTO_MINOR;
	h.type = PWL_MSG_SEND;
	h.req_id = m->req_id;
	pwl_hdr_encode(&h, buf);
	if (send(LINK_FD, buf, PWL_HDR_LEN + w.len, MSG_NOSIGNAL) < 0) {
		log_msg(LOG_ERR, "sender: cannot report to pwlessd: %s",
		    strerror(errno));
		exit(1);
	}
}

static int
parse_send(const uint8_t *buf, size_t n, struct send_msg *m)
{
	struct pwl_hdr h;
	struct pwl_msg msg;
	uint8_t ch;
	uint16_t dtag;

	memset(m, 0, sizeof(*m));
	if (n < PWL_HDR_LEN || pwl_hdr_decode(buf, PWL_RESP_MAX, &h) != 0 ||
	    h.type != PWL_MSG_SEND || h.body_len != n - PWL_HDR_LEN ||
	    pwl_msg_parse(buf + PWL_HDR_LEN, h.body_len, 0, &msg) != 0 ||
	    pwl_msg_u64(&msg, PWL_T_OUTBOX_ID, &m->id) != 0 ||
	    pwl_msg_u8(&msg, PWL_T_CHANNEL, &ch) != 0)
		return -1;
	m->req_id = h.req_id;
	m->channel = ch;
	dtag = ch == PWL_CH_SMS ? PWL_T_PHONE : PWL_T_EMAIL;
	if ((ch != PWL_CH_SMS && ch != PWL_CH_EMAIL) ||
	    pwl_msg_str(&msg, dtag, m->dest, sizeof(m->dest)) != 0 ||
	    pwl_msg_str(&msg, PWL_T_BODY, m->body, sizeof(m->body)) != 0 ||
	    pwl_msg_str(&msg, PWL_T_CODE, m->code, sizeof(m->code)) != 0 ||
	    pwl_msg_str(&msg, PWL_T_MSGID, m->msgid, sizeof(m->msgid)) != 0)
		return -1;
	(void)pwl_msg_str(&msg, PWL_T_SUBJECT, m->subject,
	    sizeof(m->subject));
	if ((ch == PWL_CH_SMS && !pwl_valid_phone(m->dest)) ||
	    (ch == PWL_CH_EMAIL && !pwl_valid_email(m->dest)))
		return -1;
	return 0;
}

/* Starts one delivery; spool and setup failures are reported at once. */
static void
start(struct sender *s, const struct send_msg *m)
{
	const struct config *c = &s->cfg;
	int tr = m->channel == PWL_CH_SMS ? c->sms_transport :
	    c->email_transport;
	struct outcome o;
	struct job *j;
	int r;

	memset(&o, 0, sizeof(o));
	if (tr == TR_FILE || tr == TR_NONE) {
		if (tr == TR_FILE)
			spool_deliver(c, m, &o);
		else
			outcome_set(&o, PWL_ST_NOT_PERMITTED, "transport none");
		report(m, &o);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->h = curl_easy_init()) == NULL) {
		free(j);
		outcome_set(&o, PWL_ST_UNAVAILABLE, "out of memory");
		report(m, &o);
		return;
	}
	j->m = *m;
	r = tr == TR_SMTP ? mail_setup(j, c, &o) : sms_setup(j, c, &o);
	explicit_bzero(j->secret, sizeof(j->secret));
	if (r != 0 || curl_multi_add_handle(s->multi, j->h) != CURLM_OK) {
		if (r == 0)
			outcome_set(&o, PWL_ST_UNAVAILABLE, "curl refused it");
		report(m, &o);
		job_free(j);
		return;
	}
	j->next = s->jobs;
	s->jobs = j;
}

static void
read_link(struct sender *s)
{
	uint8_t buf[PWL_HDR_LEN + PWL_RESP_MAX];
	struct send_msg m;
	ssize_t n;

	for (;;) {
		n = recv(LINK_FD, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			s->eof = 1;
			return;
		}
		if (parse_send(buf, (size_t)n, &m) != 0) {
			log_msg(LOG_ERR, "sender: bad frame from pwlessd");
			s->eof = 1;
		} else
			start(s, &m);
		explicit_bzero(buf, (size_t)n);
		explicit_bzero(&m, sizeof(m));
	}
}

static void
finish(struct sender *s, CURL *h, CURLcode rc)
{
	struct job *j = NULL, **pp;
	struct outcome o;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&j);
	if (j == NULL)
		return;
	memset(&o, 0, sizeof(o));
	if (j->m.channel == PWL_CH_SMS)
		sms_outcome(j, &s->cfg, rc, &o);
	else
		mail_outcome(j, rc, &o);
	report(&j->m, &o);
	curl_multi_remove_handle(s->multi, h);
	for (pp = &s->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	job_free(j);
}

static int
run(struct sender *s)
{
	struct curl_waitfd link = { LINK_FD, CURL_WAIT_POLLIN, 0 };
	CURLMsg *msg;
	int running, left;

	while (!s->eof) {
		link.revents = 0;
		if (curl_multi_poll(s->multi, &link, 1, POLL_MS, NULL) !=
		    CURLM_OK)
			return -1;
		if (link.revents != 0)
			read_link(s);
		curl_multi_perform(s->multi, &running);
		while ((msg = curl_multi_info_read(s->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				finish(s, msg->easy_handle, msg->data.result);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct sender s;
	int ch, fg = 0, dbg = 0, must = 0, r;
	const char *conf = CFG_DEFAULT_FILE;

	while ((ch = getopt(argc, argv, "c:mfd")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'm': must = 1; break;
		case 'f': fg = 1; break;
		case 'd': dbg = 1; break;
		default:
			fprintf(stderr, "usage: pwlessd-sender -c FILE [-m] "
			    "[-f] [-d] (started by pwlessd, fd 3 its "
			    "socketpair)\n");
			return 2;
		}
	}
	log_init(fg, dbg);
	signal(SIGPIPE, SIG_IGN);
	config_defaults(&s.cfg);
	if (config_load(&s.cfg, conf, must, stderr) != 0) {
		log_msg(LOG_ERR, "sender: %s has errors; not sending", conf);
		return 1;
	}
	if (fcntl(LINK_FD, F_GETFD) < 0) {
		log_msg(LOG_ERR, "sender: fd 3 is not open: pwlessd starts "
		    "this program, not you");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s.multi = curl_multi_init()) == NULL) {
		log_msg(LOG_ERR, "sender: libcurl failed to initialise");
		return 1;
	}
	r = run(&s);
	while (s.jobs != NULL) {
		struct job *j = s.jobs;

		s.jobs = j->next;
		curl_multi_remove_handle(s.multi, j->h);
		job_free(j);
	}
	curl_multi_cleanup(s.multi);
	curl_global_cleanup();
	return r == 0 ? 0 : 1;
}
