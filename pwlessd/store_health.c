/*
 * store_health.c: noticing that the database went bad under a running
 * pwlessd: deleted or replaced (what pwlessd still has open is saved
 * beside it), or damaged (SQLite reports corruption, or the file's header
 * no longer says SQLite).  Bad stays bad until a restart: pwlessd then
 * refuses every request rather than write where nobody will read.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "util.h"

#define HDR_LEN		100
#define MAGIC		"SQLite format 3"	/* and its NUL: 16 bytes */
#define REMIND_EVERY	60	/* seconds between "still refusing" lines */
#define SAY_EVERY	5	/* seconds between SQLite I/O error lines */

static int sqlite_damaged;	/* SQLite's error log saw corruption */
static char rescued[4200];	/* where a deleted database was saved */
static int64_t reminded_at;

static void
on_sqlite_log(void *arg, int rc, const char *msg)
{
	static int64_t said_at;
	int64_t now = (int64_t)time(NULL);

	(void)arg;
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		if (!sqlite_damaged)
			log_msg(LOG_ERR, "database: SQLite reports damage: %s; "
			    "restore the database from a backup, or move it "
			    "aside to start with an empty one", msg);
		sqlite_damaged = 1;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_WARNING:
		if (now - said_at < SAY_EVERY)
			break;
		said_at = now;
		log_msg(LOG_WARNING, "database: SQLite says: %s", msg);
		break;
	}
}

/* Once, before SQLite starts: its error log tells errno and damage. */
static void
log_setup(void)
{
	static int done;

	if (!done)
		(void)sqlite3_config(SQLITE_CONFIG_LOG, on_sqlite_log, NULL);
	done = 1;
}

static uint32_t
page_size(const unsigned char *h)
{
	uint32_t n = (uint32_t)h[16] << 8 | h[17];

	return n == 1 ? 65536 : n;
}

/*
 * Reads the header of the database file through SQLite's own file handle.
 * Never open() and close() the file here: closing any descriptor of it
 * drops every POSIX lock this process holds on it, and another process
 * would then take the database as unused, checkpoint it and delete the
 * WAL this connection still reads.  -1 when the header cannot be read.
 */
static int
read_header(const struct store *s, unsigned char *h, ssize_t *n)
{
	sqlite3_file *f = NULL;

	*n = 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER,
	    &f) != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return -1;
	memset(h, 0, HDR_LEN);
	switch (f->pMethods->xRead(f, h, HDR_LEN, 0)) {
	case SQLITE_OK:
		*n = HDR_LEN;
		return 0;
	case SQLITE_IOERR_SHORT_READ:	/* the rest is zero-filled */
		*n = 0;
		return 0;
	default:
		return -1;
	}
}

static int
quick_check(struct store *s)
{
	sqlite3_stmt *q;
	char what[512] = "", *p;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return STORE_ERR;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		store_col_text(q, 0, what, sizeof(what));
	sqlite3_finalize(q);
	for (p = what; *p != '\0'; p++)	/* one log line */
		if (*p == '\n')
			*p = ' ';
	if (rc == SQLITE_ROW && strcmp(what, "ok") == 0 && !sqlite_damaged)
		return STORE_OK;
	log_msg(LOG_ERR, "database %s is damaged (quick_check: %s): pwlessd "
	    "will not use it.  Restore it from a backup, or move it aside "
	    "to start with an empty one", s->path, what[0] != '\0' ? what :
	    sqlite3_errmsg(s->db));
	return STORE_ERR;
}

/*
 * At open: sets up SQLite's error log (before the first open), then,
 * once open, remembers which file this is and checks it.
 */
int
store_health_open(struct store *s)
{
	unsigned char h[HDR_LEN];
	struct stat st;
	ssize_t n;

	log_setup();
	if (s == NULL)
		return STORE_OK;
	if (stat(s->path, &st) != 0) {
		log_msg(LOG_ERR, "database %s: %s", s->path, strerror(errno));
		return STORE_ERR;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	/*
	 * The file itself must say SQLite: with a damaged header SQLite may
	 * still read every page from the WAL, and a checkpoint would then
	 * mix them into garbage.
	 */
	if (read_header(s, h, &n) != 0 || n != HDR_LEN ||
	    memcmp(h, MAGIC, sizeof(MAGIC)) != 0) {
		log_msg(LOG_ERR, "database %s is damaged (its header is not "
		    "SQLite's): pwlessd will not use it.  Restore it from a "
		    "backup, or move it aside to start with an empty one",
		    s->path);
		return STORE_ERR;
	}
	s->page_size = page_size(h);
	return quick_check(s);
}

/* Saves what the open connection still reads to a file beside path. */
static void
rescue(struct store *s)
{
	s->rescue_tried = 1;
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc;

	snprintf(rescued, sizeof(rescued), "%s.rescued-%lld", s->path,
	    (long long)time(NULL));
	rc = sqlite3_open_v2(rescued, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK &&
	    (b = sqlite3_backup_init(dst, "main", s->db, "main")) != NULL) {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
	}
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERR, "cannot save a copy of the database to %s: %s",
		    rescued, dst != NULL ? sqlite3_errmsg(dst) :
		    sqlite3_errstr(rc));
		unlink(rescued);
		rescued[0] = '\0';
	}
	sqlite3_close(dst);
}

static void
say(struct store *s)
{
	if (s->bad == STORE_BAD_DAMAGED)
		log_msg(LOG_ERR, "database %s is damaged: pwlessd refuses "
		    "every request.  Stop pwlessd, restore the database from "
		    "a backup (or move it aside to start empty), start "
		    "pwlessd: it checks the file when it starts", s->path);
	else if (rescued[0] != '\0')
		log_msg(LOG_ERR, "database %s was %s while pwlessd ran: "
		    "pwlessd refuses every request.  What it had is saved in "
		    "%s: stop pwlessd, move that file to %s, start pwlessd",
		    s->path, s->bad == STORE_BAD_DELETED ? "deleted" :
		    "replaced", rescued, s->path);
	else
		log_msg(LOG_ERR, "database %s was %s while pwlessd ran: "
		    "pwlessd refuses every request until it is restarted",
		    s->path, s->bad == STORE_BAD_DELETED ? "deleted" :
		    "replaced");
	reminded_at = (int64_t)time(NULL);
}

static int
mark(struct store *s, int why)
{
	s->bad = why;
	if (why != STORE_BAD_DAMAGED && s->depth == 0)
		rescue(s);
	say(s);
	return why;
}

/*
 * The file's header still says SQLite with our page size.  Checked before
 * every request: a checkpoint may write page 1 back soon after someone
 * overwrote the file, so a check once a second can miss it.  The read
 * comes from SQLite's mmap of the file: no system call.
 */
static int
header_ok(const struct store *s)
{
	unsigned char h[HDR_LEN];
	ssize_t n;

	if (s->page_size == 0 || read_header(s, h, &n) != 0)
		return 1;	/* cannot tell: SQLite's own checks remain */
	if (n == HDR_LEN && memcmp(h, MAGIC, sizeof(MAGIC)) == 0 &&
	    page_size(h) == s->page_size)
		return 1;
	log_msg(LOG_ERR, "database %s: its header was overwritten", s->path);
	return 0;
}

int
store_health(struct store *s)
{
	struct stat st;

	if (s == NULL || s->bad != STORE_GOOD)
		return s == NULL ? STORE_BAD_DELETED : s->bad;
	if (sqlite_damaged)
		return mark(s, STORE_BAD_DAMAGED);
	if (s->good_this_pass)
		return STORE_GOOD;
	if (stat(s->path, &st) != 0)
		return errno == ENOENT ? mark(s, STORE_BAD_DELETED) :
		    STORE_GOOD;
	if (st.st_dev != s->dev || st.st_ino != s->ino)
		return mark(s, STORE_BAD_REPLACED);
	if (!header_ok(s))
		return mark(s, STORE_BAD_DAMAGED);
	s->good_this_pass = 1;
	return STORE_GOOD;
}

/*
 * A new loop pass: the file is looked at again by its first request.
 * The requests of one pass, microseconds apart, share one look.
 */
void
store_health_pass(struct store *s)
{
	if (s != NULL)
		s->good_this_pass = 0;
}

void
store_watch(struct store *s)
{
	if (s == NULL)
		return;
	if (store_health(s) == STORE_GOOD)
		return;
	/*
	 * A request found it inside its transaction, where SQLite cannot
	 * copy the database: save what we have now, between passes.
	 */
	if (s->bad != STORE_BAD_DAMAGED && !s->rescue_tried && s->depth == 0) {
		rescue(s);
		say(s);
	} else if ((int64_t)time(NULL) - reminded_at >= REMIND_EVERY)
		say(s);
}

/*
 * Why writes fail when SQLite only says "disk I/O error": the errno of a
 * one-byte trial write in the database's directory (EROFS, ENOSPC...),
 * 0 when that works.
 */
int
store_probe(const struct store *s)
{
	char dir[4096], path[4200];
	char *slash;
	int fd, e = 0;

	pwl_strlcpy(dir, s->path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/.pwlessd-probe-%ld",
	    slash != NULL ? dir : ".", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return errno;
	if (write(fd, "x", 1) != 1 || fsync(fd) != 0)
		e = errno;
	close(fd);
	unlink(path);
	return e;
}

const char *
store_rescued(struct store *s)
{
	(void)s;
	return rescued;
}
