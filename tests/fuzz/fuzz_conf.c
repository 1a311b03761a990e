/*
 * fuzz_conf.c: libFuzzer harness for pwlessd.conf parsing (pwlessd/conf.c).
 * Each input is a config file, read through a memfd by the real
 * config_load; then every string must end inside its array, every number
 * lie in the bounds pwlessd.conf(5) gives, and each error be one line.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

#define DAY	86400ULL
#define STR(f)	{ #f, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f) }
#define U64(f, lo, hi)	{ #f, offsetof(struct config, f), 8, lo, hi }
#define U32(f, lo, hi)	{ #f, offsetof(struct config, f), 4, lo, hi }

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every string member of struct config. */
static const struct {
	const char	*name;
	size_t		 off, size;
} strs[] = {
	STR(file), STR(socket), STR(database), STR(master_key), STR(pidfile),
	STR(admin_group), STR(user), STR(verify_group), STR(email_url),
	STR(email_from), STR(email_username), STR(email_password_file),
	STR(email_spool), STR(sms_url), STR(sms_method), STR(sms_auth),
	STR(sms_body_template), STR(sms_success_match),
	STR(sms_allowed_prefixes), STR(sms_spool),
};

/* The bounds of pwlessd.conf(5), written out again on purpose. */
static const struct {
	const char	*name;
	size_t		 off, size;
	uint64_t	 lo, hi;
} nums[] = {
	U64(key_default_lifetime, 60, 3650 * DAY),
	U64(key_max_lifetime, 60, 3650 * DAY),
	U32(key_max_per_user, 1, 32),
	U32(code_length, 6, 10),
	U64(code_lifetime, 5, 3600),
	U32(code_max_attempts, 1, 20),
	U64(code_resend_interval, 0, 3600),
	U64(token_lifetime, 10, 7 * DAY),
	U64(token_max_lifetime, 10, 30 * DAY),
	U32(token_max_per_user, 1, 64),
	U32(failures_before_delay, 0, 100000),
	U32(max_failures, 1, 100000),
	U64(lockout, 0, 30 * DAY),
	U32(sends_per_hour, 1, 100000),
	U32(sends_per_destination, 1, 100000),
	U32(source_max_failures, 0, 100000),
	U64(source_lockout, 1, 30 * DAY),
	U32(source_sends_per_hour, 0, 100000),
	U32(sms_daily_budget, 1, 1000000),
	U32(sms_sends_per_prefix, 1, 100000),
	U32(outbox_max_tries, 1, 100),
	U64(outbox_retry_min, 1, 3600),
	U64(outbox_retry_max, 1, 3600),
	U32(outbox_concurrency, 1, 64),
	U64(outbox_connect_timeout, 1, 300),
	U64(outbox_timeout, 1, 600),
	U64(contact_cooling_off, 0, 30 * DAY),
	U32(notify_max_per_hour, 1, 1000),
};

static int	memfd = -1;
static char	path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((memfd = memfd_create("pwlessd.conf", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static uint64_t
num_at(const struct config *c, size_t i)
{
	const char *base = (const char *)c;
	uint64_t v64;
	uint32_t v32;

	if (nums[i].size == 8) {
		memcpy(&v64, base + nums[i].off, sizeof(v64));
		return v64;
	}
	memcpy(&v32, base + nums[i].off, sizeof(v32));
	return v32;
}

/* What config_load promises, errors or not. */
static void
check_always(const struct config *c)
{
	const char *base = (const char *)c;
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		CHECK(strnlen(base + strs[i].off, strs[i].size) <
		    strs[i].size);
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		v = num_at(c, i);
		if (v < nums[i].lo || v > nums[i].hi) {
			fprintf(stderr, "%s = %llu out of bounds\n",
			    nums[i].name, (unsigned long long)v);
			abort();
		}
	}
	CHECK(c->ntrusted <= CFG_MAX_TRUSTED);
	CHECK(c->email_transport == TR_NONE || c->email_transport == TR_SMTP ||
	    c->email_transport == TR_FILE);
	CHECK(c->sms_transport == TR_NONE || c->sms_transport == TR_HTTP ||
	    c->sms_transport == TR_FILE);
	CHECK(strcmp(c->file, path) == 0);
}

/* What a config without errors promises on top (check_values). */
static void
check_clean(const struct config *c)
{
	CHECK(c->key_default_lifetime <= c->key_max_lifetime);
	CHECK(c->token_lifetime <= c->token_max_lifetime);
	CHECK(c->socket[0] == '/' && c->database[0] == '/' &&
	    c->master_key[0] == '/');
	CHECK(c->email_transport != TR_SMTP || c->email_url[0] != '\0');
	CHECK(c->email_transport != TR_FILE || c->email_spool[0] == '/');
	CHECK(c->sms_transport != TR_HTTP || c->sms_url[0] != '\0');
	CHECK(c->sms_transport != TR_FILE || c->sms_spool[0] == '/');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char *errs = NULL;
	size_t errlen = 0, i, lines = 0;
	FILE *ef;
	int r;

	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	CHECK((ef = open_memstream(&errs, &errlen)) != NULL);
	config_defaults(&c);
	r = config_load(&c, path, 1, ef);
	CHECK(fclose(ef) == 0);

	/* one line per error, each naming the file */
	CHECK(r >= 0);
	for (i = 0; i < errlen; i++)
		lines += errs[i] == '\n';
	CHECK(lines == (size_t)r);
	CHECK(r == 0 || strncmp(errs, path, strlen(path)) == 0);
	free(errs);

	check_always(&c);
	if (r == 0)
		check_clean(&c);
	return 0;
}
