/*
 * bench_populate.c: fills a fresh pwlessd database with U users and K keys
 * in large transactions, fast enough for a million keys.  It links
 * pwlessd's own secret.c and store*.c: the same master key file, subkey,
 * keyed BLAKE2b and SQL as the daemon, so pwlessd accepts what it writes.
 * A sample of the keys goes to a file as "user key" lines.  Bench only.
 */
#include "config.h"

#include <sys/stat.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "log.h"
#include "pwlessd.h"
#include "store_int.h"
#include "util.h"

#define BATCH		50000	/* rows per transaction */
#define LIFETIME	(10LL * 365 * 86400)

struct pop {
	const char	*db;		/* -d */
	const char	*master;	/* -m */
	const char	*out;		/* -o: known keys */
	const char	*first;		/* -N: name of the first user */
	long		 users;		/* -u */
	long		 keys;		/* -k */
	long		 known;		/* -K: keys written to -o */
	struct secrets	 sec;
	struct store	*st;
	int64_t		*ids;		/* users' row ids, by index */
	time_t		 now;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench_populate -d DB -m MASTER_KEY -u USERS "
	    "-k KEYS -o KNOWN_FILE\n"
	    "                      [-K KNOWN] [-N FIRST_USER]\n"
	    "  DB must not exist; MASTER_KEY is created when missing.\n"
	    "  Key i belongs to user i %% USERS; KNOWN keys, spread over all,\n"
	    "  are written to KNOWN_FILE as 'user key' lines.\n");
	exit(64);
}

static void
user_name(const struct pop *p, long i, char *out, size_t sz)
{
	if (i == 0 && p->first != NULL)
		snprintf(out, sz, "%s", p->first);
	else
		snprintf(out, sz, "bench%07ld", i);
}

/* Commits every BATCH rows and opens the next transaction. */
static int
batch(struct pop *p, long i)
{
	if (i % BATCH != BATCH - 1)
		return 0;
	if (store_commit(p->st) != STORE_OK || store_begin(p->st) != STORE_OK)
		return -1;
	return 0;
}

static int
add_users(struct pop *p)
{
	char name[PWL_USER_MAX + 1];
	struct user_row u;
	long i;

	if ((p->ids = calloc((size_t)p->users, sizeof(*p->ids))) == NULL)
		return -1;
	for (i = 0; i < p->users; i++) {
		memset(&u, 0, sizeof(u));
		user_name(p, i, name, sizeof(name));
		pwl_strlcpy(u.name, name, sizeof(u.name));
		u.created = p->now;
		if (store_user_add(p->st, &u) != STORE_OK ||
		    store_user_get(p->st, name, &u) != STORE_OK)
			return -1;
		p->ids[i] = u.id;
		if (batch(p, i) != 0)
			return -1;
	}
	return 0;
}

/* A new key for user index ui, hashed as keys.c does; 0, or -1. */
static int
add_key(struct pop *p, long ui, char key[PWL_KEY_LEN + 1])
{
	struct key_row k;
	int r, tries;

	for (tries = 0; tries < 5; tries++) {
		memset(&k, 0, sizeof(k));
		if (secret_new(PWL_KIND_KEY, key, k.key_id) != 0)
			return -1;
		secret_hash(p->sec.keys, key, strlen(key), k.hash);
		k.hash_version = HASH_VERSION;
		k.user_id = p->ids[ui];
		k.created = p->now;
		k.expires = p->now + LIFETIME;
		if ((r = store_key_insert(p->st, &k)) != STORE_EXISTS)
			return r == STORE_OK ? 0 : -1;
	}
	return -1;
}

static int
add_keys(struct pop *p, FILE *out)
{
	char key[PWL_KEY_LEN + 1], name[PWL_USER_MAX + 1];
	long i, stride = p->known > 0 ? p->keys / p->known : 0, written = 0;
	int r = 0;

	for (i = 0; i < p->keys && r == 0; i++) {
		if (add_key(p, i % p->users, key) != 0 || batch(p, i) != 0)
			r = -1;
		else if (stride > 0 && i % stride == 0 && written < p->known) {
			user_name(p, i % p->users, name, sizeof(name));
			fprintf(out, "%s %s\n", name, key);
			written++;
		}
	}
	sodium_memzero(key, sizeof(key));
	return r;
}

static void
parse_args(int argc, char **argv, struct pop *p)
{
	int ch;

	while ((ch = getopt(argc, argv, "d:m:u:k:o:K:N:")) != -1) {
		switch (ch) {
		case 'd': p->db = optarg; break;
		case 'm': p->master = optarg; break;
		case 'o': p->out = optarg; break;
		case 'N': p->first = optarg; break;
		case 'u': p->users = bench_arg_long("-u", optarg, 1,
			    10000000); break;
		case 'k': p->keys = bench_arg_long("-k", optarg, 0,
			    100000000); break;
		case 'K': p->known = bench_arg_long("-K", optarg, 0,
			    10000000); break;
		default: usage();
		}
	}
	if (p->db == NULL || p->master == NULL || p->out == NULL ||
	    p->users == 0 || optind != argc)
		usage();
	if (p->known == 0 || p->known > p->keys)
		p->known = p->keys < 1000 ? p->keys : 1000;
}

static int
populate(struct pop *p)
{
	FILE *out;
	int r = -1;

	if ((out = fopen(p->out, "we")) == NULL) {
		perror(p->out);
		return -1;
	}
	fchmod(fileno(out), 0600);
	if (store_begin(p->st) != STORE_OK)
		goto out;
	if (add_users(p) != 0 || add_keys(p, out) != 0) {
		fprintf(stderr, "bench_populate: %s: %s\n", p->db,
		    store_errmsg(p->st));
		store_rollback(p->st);
		goto out;
	}
	if (store_commit(p->st) != STORE_OK)
		goto out;
	r = 0;
 out:
	if (fclose(out) != 0)
		r = -1;
	return r;
}

int
main(int argc, char **argv)
{
	struct pop p;
	int64_t t0 = bench_now_ns();
	int r = 1;

	memset(&p, 0, sizeof(p));
	parse_args(argc, argv, &p);
	p.now = time(NULL);
	log_init(1, 0);
	if (sodium_init() < 0 || access(p.db, F_OK) == 0) {
		fprintf(stderr, "bench_populate: %s exists (or libsodium "
		    "failed); it fills only a new database\n", p.db);
		return 1;
	}
	if (secret_init(&p.sec, p.master, geteuid(), getegid()) != 0 ||
	    store_open(p.db, &p.st) != STORE_OK)
		return 1;
	if (populate(&p) == 0) {
		fprintf(stderr, "bench_populate: %ld users, %ld keys in "
		    "%.1f s\n", p.users, p.keys,
		    (double)(bench_now_ns() - t0) / 1e9);
		r = 0;
	}
	store_close(p.st);
	sodium_memzero(&p.sec, sizeof(p.sec));
	free(p.ids);
	return r;
}
