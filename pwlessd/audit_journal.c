/*
 * audit_journal.c: the audit trail's fast path.  A loop pass whose only
 * writes are audit rows (successful key and token checks) appends them,
 * hashed and chained as ever, to a journal file beside the database
 * (<database>-audit) with one write(2), instead of committing them to
 * SQLite: three B-tree pages per row cost more than the rest of a key
 * check.  The rows reach the audit table in batches (audit_journal_import,
 * on the one-second tick; audit_journal_catch_up, before anything reads
 * the table), and the file is emptied once the table holding them is synced.
 * A row is thus on its way to the disk before its reply is sent, as
 * before; a write that fails makes the pass's replies UNAVAILABLE.
 *
 * Records are auditrec.c's.  At start the file is read back: a record
 * that is torn (a crash in the middle of a write, whose reply was never
 * sent) or whose hash does not hold ends it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auditrec.h"
#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define SUFFIX		"-audit"
#define BACKLOG_MAX	(16 * 1024 * 1024)	/* then rows go to SQLite */
#define READ_CHUNK	(64 * 1024)
#define REC_MAX		AUDITREC_MAX

/* --- the pass's rows ------------------------------------------------------ */

/* Adds a row to the pass's batch (audit.c writes it at the pass's end). */
int
audit_journal_add(struct audit_pass *p, const struct audit_row *a)
{
	uint8_t *nb;
	size_t cap;

	if (p->plen + REC_MAX > p->pcap) {
		cap = p->pcap == 0 ? 16 * REC_MAX : 2 * p->pcap;
		if ((nb = realloc(p->pbuf, cap)) == NULL)
			return -1;
		p->pbuf = nb;
		p->pcap = cap;
	}
	p->plen += auditrec_encode(a, p->pbuf + p->plen);
	return 0;
}

/* Calls fn on each row of the pass's batch, in order; stops on failure. */
int
audit_journal_each(const struct audit_pass *p,
    int (*fn)(void *, const struct audit_row *), void *arg)
{
	struct audit_row a;
	size_t off = 0;
	ssize_t n;
	int r = STORE_OK;

	while (off < p->plen && r == STORE_OK) {
		if ((n = auditrec_decode(p->pbuf + off, p->plen - off, &a)) <= 0)
			return STORE_ERR;	/* our own bytes: cannot be */
		r = fn(arg, &a);
		off += (size_t)n;
	}
	sodium_memzero(&a, sizeof(a));
	return r;
}

/* Whether this pass may use the journal rather than SQLite. */
int
audit_journal_usable(const struct audit_pass *p)
{
	return p->jfd >= 0 && p->db_writable && !p->jstop &&
	    p->jsize - p->jimported < BACKLOG_MAX;
}

/*
 * Appends the pass's batch to the file: STORE_OK, or why not (STORE_FULL,
 * STORE_READONLY, STORE_ERR), logged.  A short write is cut off again; if
 * even that fails the journal takes no more rows until the tick has
 * emptied it (imports read only what was written whole).
 */
int
audit_journal_write(struct audit_pass *p)
{
	ssize_t w;
	int e;

	if (p->plen == 0)
		return STORE_OK;
	w = write(p->jfd, p->pbuf, p->plen);
	if (w == (ssize_t)p->plen) {
		p->jsize += (int64_t)p->plen;
		return STORE_OK;
	}
	e = w >= 0 ? ENOSPC : errno;	/* short: the disk filled up */
	if (w > 0 && ftruncate(p->jfd, (off_t)p->jsize) != 0)
		p->jstop = 1;
	log_msg(LOG_ERR, "cannot append to the audit journal %s: %s%s; the "
	    "pass's requests are answered 'unavailable'", p->jpath,
	    strerror(e), e == ENOSPC ? "; free space on its filesystem" :
	    e == EROFS || e == EIO ? "; check dmesg for disk errors" : "");
	return e == ENOSPC || e == EDQUOT ? STORE_FULL :
	    e == EROFS ? STORE_READONLY : STORE_ERR;
}

/* --- into the table ---------------------------------------------------- */

/* Whose rows a batch holds: (user, id) pairs, the names in one arena. */
struct owner {
	size_t		 name;		/* offset in names */
	int64_t		 id;
};

struct import {
	struct daemon	*d;
	int		 rehash;	/* at start: each hash checked again */
	uint8_t		 prev[HASH_LEN];
	int		 have_prev;
	int64_t		 last_id;
	size_t		 rows;
	struct owner	*own;
	size_t		 nown;
	size_t		 capown;
	char		*names;
	size_t		 nnames;
	size_t		 capnames;
};

static int
owner_add(struct import *im, const char *user, int64_t id)
{
	size_t len = strlen(user) + 1, cap;
	struct owner *no;
	char *nn;

	if (len == 1)
		return 0;		/* no user: nothing to look up by */
	if (im->nown == im->capown) {
		cap = im->capown == 0 ? 1024 : 2 * im->capown;
		if ((no = realloc(im->own, cap * sizeof(*no))) == NULL)
			return -1;
		im->own = no;
		im->capown = cap;
	}
	if (im->nnames + len > im->capnames) {
		cap = im->capnames == 0 ? 16384 : 2 * im->capnames;
		while (cap < im->nnames + len)
			cap *= 2;
		if ((nn = realloc(im->names, cap)) == NULL)
			return -1;
		im->names = nn;
		im->capnames = cap;
	}
	memcpy(im->names + im->nnames, user, len);
	im->own[im->nown].name = im->nnames;
	im->own[im->nown].id = id;
	im->nown++;
	im->nnames += len;
	return 0;
}

static const char *sort_names;	/* for cmp_owner: qsort has no context */

static int
cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	int c = strcmp(sort_names + x->name, sort_names + y->name);

	return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

/* The batch's (user, ids) entries: one per user, not one per row. */
static int
owners_write(struct import *im)
{
	struct store *st = im->d->st;
	int64_t *ids;
	size_t i, j, k;
	int sr = STORE_OK;

	if (im->nown == 0)
		return STORE_OK;
	if ((ids = malloc(im->nown * sizeof(*ids))) == NULL)
		return STORE_ERR;
	sort_names = im->names;
	qsort(im->own, im->nown, sizeof(*im->own), cmp_owner);
	for (i = 0; i < im->nown && sr == STORE_OK; i = j) {
		for (j = i, k = 0; j < im->nown && strcmp(im->names +
		    im->own[j].name, im->names + im->own[i].name) == 0; j++)
			ids[k++] = im->own[j].id;
		sr = store_audit_user_ids(st, im->names + im->own[i].name,
		    ids, k);
	}
	free(ids);
	return sr;
}

static void
import_free(struct import *im)
{
	free(im->own);
	if (im->names != NULL)
		explicit_bzero(im->names, im->capnames);
	free(im->names);
	im->own = NULL;
	im->names = NULL;
	im->nown = im->capown = im->nnames = im->capnames = 0;
}

/* One record read back: its hash and its link to the one before hold. */
static int
import_row(struct import *im, const struct audit_row *a)
{
	uint8_t h[HASH_LEN];

	/*
	 * Ids rise; where they are consecutive the link must hold too (a
	 * gap is a row that went to the database directly).  While pwlessd
	 * runs, the bytes read back are the ones it wrote a moment ago, and
	 * 'audit verify' checks every hash in the table anyway.
	 */
	if (im->rehash)
		audit_hash(&im->d->sec, a, h);
	if ((im->rehash && sodium_memcmp(h, a->hash, HASH_LEN) != 0) ||
	    (im->have_prev && (a->id <= im->last_id ||
	    (a->id == im->last_id + 1 &&
	    sodium_memcmp(im->prev, a->prev_hash, HASH_LEN) != 0))))
		return 1;
	memcpy(im->prev, a->hash, HASH_LEN);
	im->have_prev = 1;
	im->last_id = a->id;
	im->rows++;
	if (owner_add(im, a->user, a->id) != 0)
		return STORE_ERR;
	return store_audit_import(im->d->st, a);
}

/*
 * Inserts the file's rows from offset from up to to into the audit table
 * in the transaction that is open (a row that is there already is skipped).
 * Sets *end to where good records end; returns STORE_OK or the store's
 * failure; *damaged when a whole record does not hold (edited, or the
 * disk went bad), *torn to the bytes of a record cut short at the end.
 */
static int
import_range(struct daemon *d, int64_t from, int64_t to, int64_t *end,
    int *damaged, size_t *torn, struct import *im)
{
	struct audit_pass *p = &d->audit;
	uint8_t *buf;
	struct audit_row a;
	size_t have = 0, off, want;
	int64_t at = from;
	ssize_t n, rec;
	int sr = STORE_OK, bad;

	*damaged = 0;
	*torn = 0;
	if ((buf = malloc(READ_CHUNK + REC_MAX)) == NULL)
		return STORE_ERR;
	for (;;) {
		want = to - at - (int64_t)have < READ_CHUNK ?
		    (size_t)(to - at - (int64_t)have) : READ_CHUNK;
		n = want == 0 ? 0 : pread(p->jfd, buf + have, want,
		    (off_t)(at + (int64_t)have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_msg(LOG_ERR, "cannot read the audit journal %s: %s",
			    p->jpath, strerror(errno));
			sr = STORE_ERR;
			break;
		}
		have += (size_t)n;
		off = 0;
		while ((rec = auditrec_decode(buf + off, have - off, &a)) > 0) {
			if ((bad = import_row(im, &a)) != 0) {
				if (bad > 0)
					*damaged = 1;
				else
					sr = bad;
				break;
			}
			off += (size_t)rec;
		}
		at += (int64_t)off;
		memmove(buf, buf + off, have - off);
		have -= off;
		if (rec < 0)
			*damaged = 1;
		if (sr != STORE_OK || *damaged)
			break;
		if (n == 0) {		/* the end: a record cut short? */
			*torn = have;
			break;
		}
	}
	*end = at;
	if (sr == STORE_OK)
		sr = owners_write(im);
	import_free(im);
	sodium_memzero(&a, sizeof(a));
	explicit_bzero(buf, READ_CHUNK + REC_MAX);
	free(buf);
	return sr;
}

/*
 * Brings the rows waiting in the file into the table, in the transaction
 * that is open: for a request about to read the table.  They stay in the
 * file until a batch of their own (audit_journal_import) has committed.
 */
int
audit_journal_catch_up(struct daemon *d)
{
	struct audit_pass *p = &d->audit;
	struct import im;
	int64_t end;
	size_t torn;
	int damaged;

	if (p->jfd < 0 || p->jimported == p->jsize)
		return STORE_OK;
	memset(&im, 0, sizeof(im));
	im.d = d;
	return import_range(d, p->jimported, p->jsize, &end, &damaged, &torn,
	    &im);
}

/*
 * The one-second tick: the rows written since the last one into the
 * table in a transaction of their own, then the table onto the disk, and
 * the file emptied.
 */
int
audit_journal_import(struct daemon *d)
{
	struct audit_pass *p = &d->audit;
	struct import im;
	int64_t end = p->jimported;
	size_t torn = 0;
	int sr = STORE_OK, damaged = 0;

	if (p->jfd < 0 || store_in_tx(d->st))
		return STORE_OK;
	memset(&im, 0, sizeof(im));
	im.d = d;
	if (p->jimported < p->jsize) {
		if ((sr = store_begin(d->st)) == STORE_OK &&
		    (sr = import_range(d, p->jimported, p->jsize, &end,
		    &damaged, &torn, &im)) == STORE_OK)
			sr = store_commit(d->st);
		if (sr != STORE_OK) {
			store_rollback(d->st);
			p->db_writable = 0;
			log_msg(LOG_ERR, "cannot move %zu audit rows from %s "
			    "into the database: %s; they stay there, and "
			    "logins are recorded in the database itself "
			    "until it takes writes again", im.rows, p->jpath,
			    store_errmsg(d->st));
			return sr;
		}
		if (damaged || torn > 0) {
			log_msg(LOG_ERR, "audit journal %s: the record at "
			    "byte %lld does not hold (edited?); the %lld "
			    "bytes from there are dropped", p->jpath,
			    (long long)end, (long long)(p->jsize - end));
			audit_gap(d, end, p->jsize - end);
		}
		p->jimported = p->jsize;
	}
	if (p->jsize == 0 && !p->jstop)
		return STORE_OK;
	if (store_sync_now(d->st) != STORE_OK)
		return STORE_ERR;
	if (ftruncate(p->jfd, 0) != 0) {
		log_msg(LOG_WARNING, "cannot empty the audit journal %s: %s",
		    p->jpath, strerror(errno));
		return STORE_ERR;
	}
	p->jsize = p->jimported = 0;
	p->jstop = 0;
	return STORE_OK;
}

/*
 * At start, before the first request: opens the file and moves what a
 * crash left in it into the table.  When that cannot be done pwlessd
 * does not start: those rows would be lost, and new ones would take
 * their ids.  Without a journal (a read-only directory) every row goes
 * to SQLite.
 */
int
audit_journal_open(struct daemon *d)
{
	struct audit_pass *p = &d->audit;
	struct import im;
	struct stat sb;
	int64_t end = 0;
	size_t torn = 0;
	int sr, damaged = 0;

	p->db_writable = 1;
	snprintf(p->jpath, sizeof(p->jpath), "%s%s", d->cfg.database, SUFFIX);
	p->jfd = open(p->jpath, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (p->jfd < 0) {
		log_msg(LOG_WARNING, "cannot open the audit journal %s: %s; "
		    "audit rows go to the database directly (slower)",
		    p->jpath, strerror(errno));
		return 0;
	}
	if (fstat(p->jfd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		log_msg(LOG_ERR, "audit journal %s is not a regular file",
		    p->jpath);
		close(p->jfd);
		p->jfd = -1;
		return -1;
	}
	p->jsize = (int64_t)sb.st_size;
	p->jimported = 0;
	if (p->jsize == 0)
		return 0;
	memset(&im, 0, sizeof(im));
	im.d = d;
	im.rehash = 1;
	if ((sr = store_begin(d->st)) == STORE_OK &&
	    (sr = import_range(d, 0, p->jsize, &end, &damaged, &torn,
	    &im)) == STORE_OK)
		sr = store_commit(d->st);
	if (sr == STORE_OK)
		sr = store_sync_now(d->st);
	if (sr != STORE_OK) {
		store_rollback(d->st);
		log_msg(LOG_ERR, "cannot move the audit rows left in %s into "
		    "the database: %s; they stay there: make the database "
		    "writable (free space?) and start pwlessd again", p->jpath,
		    store_errmsg(d->st));
		return -1;
	}
	log_msg(LOG_INFO, "moved %zu audit rows left in %s into the "
	    "database", im.rows, p->jpath);
	if (torn > 0 && !damaged)	/* a crash mid-write: never answered */
		log_msg(LOG_WARNING, "audit journal %s ended in a record cut "
		    "short (%zu bytes), dropped: its request was never "
		    "answered", p->jpath, torn);
	if (damaged) {
		log_msg(LOG_ERR, "audit journal %s: the record at byte %lld "
		    "does not hold (edited, or a disk error); the %lld bytes "
		    "from there are dropped, and the trail records the gap",
		    p->jpath, (long long)end, (long long)(p->jsize - end));
		audit_gap(d, end, p->jsize - end);
	}
	if (ftruncate(p->jfd, 0) != 0)
		log_msg(LOG_WARNING, "cannot empty the audit journal %s: %s",
		    p->jpath, strerror(errno));
	else
		p->jsize = 0;
	p->jimported = p->jsize;
	return 0;
}

void
audit_journal_close(struct daemon *d)
{
	struct audit_pass *p = &d->audit;

	if (p->jfd >= 0) {
		(void)audit_journal_import(d);
		close(p->jfd);
		p->jfd = -1;
	}
	if (p->pbuf != NULL) {
		explicit_bzero(p->pbuf, p->pcap);
		free(p->pbuf);
		p->pbuf = NULL;
	}
	p->plen = p->pcap = 0;
}
