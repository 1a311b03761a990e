/*
 * send_file.c: the file transport.  Each message becomes one file in the
 * spool directory, named after its Message-ID (so a repeated try replaces
 * the file instead of adding one), written to a temporary name, synced
 * and renamed into place: a reader never sees half a message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sender.h"

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* "pwless.AbC123@host" -> "AbC123": the random part, safe as a name. */
static int
file_stem(const char *msgid, char *out, size_t sz)
{
	const char *p = strchr(msgid, '.'), *at = strchr(msgid, '@');
	size_t n;

	if (p == NULL || at == NULL || at <= p + 1)
		return -1;
	p++;
	n = (size_t)(at - p);
	if (n >= sz || strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") < n)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int
spool_write(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[PWL_MSGID_MAX + 16];
	int dfd, fd = -1, r = -1;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0 ||
	    renameat(dfd, tmp, dfd, name) != 0) {
		if (fd >= 0)
			unlinkat(dfd, tmp, 0);
		goto out;
	}
	(void)fsync(dfd);
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

static int
sms_text(const struct send_msg *m, char **out, size_t *len)
{
	size_t cap = strlen(m->body) + 512;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if ((*out = malloc(cap)) == NULL)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(*out, cap, "To: %s\nDate: %s\nMessage-ID: <%s>\n\n%s\n",
	    m->dest, date, m->msgid, m->body);
	*len = n > 0 && (size_t)n < cap ? (size_t)n : 0;
	return *len > 0 ? 0 : -1;
}

void
spool_deliver(const struct config *c, const struct send_msg *m,
    struct outcome *o)
{
	const char *dir = m->channel == PWL_CH_SMS ? c->sms_spool :
	    c->email_spool;
	char stem[PWL_MSGID_MAX + 1], name[PWL_MSGID_MAX + 8];
	char *data = NULL;
	size_t len = 0;
	int r;

	if (file_stem(m->msgid, stem, sizeof(stem)) != 0) {
		outcome_set(o, PWL_ST_NOT_PERMITTED, "odd Message-ID");
		return;
	}
	snprintf(name, sizeof(name), "%s.%s", stem,
	    m->channel == PWL_CH_SMS ? "sms" : "eml");
	r = m->channel == PWL_CH_SMS ? sms_text(m, &data, &len) :
	    mail_compose(c, m, &data, &len);
	if (r == 0)
		r = spool_write(dir, name, data, len);
	if (r == 0)
		outcome_set(o, PWL_ST_OK, "spooled");
	else
		outcome_set(o, PWL_ST_UNAVAILABLE, "cannot write to spool "
		    "%s: %s", dir, strerror(errno));
	if (data != NULL) {
		explicit_bzero(data, len);
		free(data);
	}
}
