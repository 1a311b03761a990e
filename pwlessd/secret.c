/*
 * secret.c: the master key file, the subkeys derived from it, new keys and
 * tokens from randombytes, and the keyed BLAKE2b hashes stored in their
 * place.  The master key never leaves this process and never hits the
 * database; a hash version column lets it be rotated.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "keyfmt.h"
#include "log.h"
#include "pwlessd.h"
#include "util.h"

#define KDF_CTX		"pwless__"	/* crypto_kdf_CONTEXTBYTES = 8 */

static int
write_new_master(const char *path, uid_t owner, gid_t group,
    uint8_t key[MASTER_KEY_LEN])
{
	char dir[PATH_MAX];
	int fd, dfd, r = -1;

	randombytes_buf(key, MASTER_KEY_LEN);
	pwl_strlcpy(dir, path, sizeof(dir));
	if (mkdir(dirname(dir), 0755) == 0)
		chmod(dir, 0755);	/* it may hold pwlessd.conf too */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		log_msg(LOG_ERR, "cannot create master key %s: %s; run "
		    "'pwlessd --init' as root to create it (see pwlessd(8))",
		    path, strerror(errno));
		return -1;
	}
	if (write(fd, key, MASTER_KEY_LEN) != MASTER_KEY_LEN ||
	    (owner != geteuid() && fchown(fd, owner, group) != 0) ||
	    fsync(fd) != 0) {
		log_msg(LOG_ERR, "cannot write master key %s: %s", path,
		    strerror(errno));
		unlink(path);
		goto out;
	}
	pwl_strlcpy(dir, path, sizeof(dir));
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	log_msg(LOG_NOTICE, "created master key %s (mode 0600, uid %u); keep "
	    "it out of backups that hold the database", path,
	    (unsigned)owner);
	r = 0;
 out:
	close(fd);
	return r;
}

static int
read_master(int fd, const char *path, uid_t owner,
    uint8_t key[MASTER_KEY_LEN])
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_msg(LOG_ERR, "master key %s is not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		log_msg(LOG_ERR, "master key %s is readable by group or others "
		    "(mode %04o): run 'chmod 600 %s'", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_uid != owner) {
		log_msg(LOG_ERR, "master key %s is owned by uid %u, not by "
		    "pwlessd's uid %u: chown it", path, (unsigned)st.st_uid,
		    (unsigned)owner);
		return -1;
	}
	n = read(fd, key, MASTER_KEY_LEN);
	if (n != MASTER_KEY_LEN || st.st_size != MASTER_KEY_LEN) {
		log_msg(LOG_ERR, "master key %s must hold exactly %d bytes; "
		    "a damaged key makes every stored key unusable", path,
		    MASTER_KEY_LEN);
		return -1;
	}
	return 0;
}

/*
 * Reads the master key into master, creating it when it does not exist.
 * It must be a 0600 file owned by owner, the uid pwlessd runs as (a root
 * start reads it before dropping to [daemon] user).
 */
int
secret_master(const char *path, uid_t owner, gid_t group,
    uint8_t master[MASTER_KEY_LEN])
{
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return write_new_master(path, owner, group, master);
	if (fd < 0) {
		log_msg(LOG_ERR, "cannot open master key %s: %s", path,
		    strerror(errno));
		return -1;
	}
	r = read_master(fd, path, owner, master);
	close(fd);
	return r;
}

int
secret_init(struct secrets *s, const char *path, uid_t owner, gid_t group)
{
	uint8_t master[MASTER_KEY_LEN];
	int r = -1;

	memset(s, 0, sizeof(*s));
	if (secret_master(path, owner, group, master) != 0)
		goto out;
	crypto_kdf_derive_from_key(s->keys, sizeof(s->keys), 1, KDF_CTX,
	    master);
	crypto_kdf_derive_from_key(s->tokens, sizeof(s->tokens), 2, KDF_CTX,
	    master);
	crypto_kdf_derive_from_key(s->codes, sizeof(s->codes), 3, KDF_CTX,
	    master);
	crypto_kdf_derive_from_key(s->audit, sizeof(s->audit), 4, KDF_CTX,
	    master);
	if (sodium_mlock(s, sizeof(*s)) != 0)
		log_msg(LOG_WARNING, "cannot lock key memory (mlock): keys "
		    "may reach swap");
	r = 0;
 out:
	sodium_memzero(master, sizeof(master));
	return r;
}

void
secret_hash(const uint8_t subkey[SUBKEY_LEN], const void *msg, size_t len,
    uint8_t out[HASH_LEN])
{
	crypto_generichash(out, HASH_LEN, msg, len, subkey, SUBKEY_LEN);
}

void
secret_random_b62(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = pwl_base62[randombytes_uniform(62)];
	out[n] = '\0';
}

int
secret_new(int kind, char out[PWL_KEY_LEN + 1], char id[PWL_ID_LEN + 1])
{
	char sec[PWL_SECRET_LEN + 1];
	int r;

	secret_random_b62(id, PWL_ID_LEN);
	secret_random_b62(sec, PWL_SECRET_LEN);
	r = pwl_secret_compose(kind, id, sec, out);
	sodium_memzero(sec, sizeof(sec));
	return r;
}
