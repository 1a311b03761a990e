/*
 * askpass.c: pwless-askpass, a helper for SUDO_ASKPASS.  Prints the
 * session token pam_pwless put in $PWLESS_TOKEN at login, so that
 * "sudo -A" needs no typing.  Nothing else: no daemon, no files.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
say(const char *s)
{
	(void)!write(STDERR_FILENO, s, strlen(s));
}

int
main(void)
{
	const char *tok = getenv("PWLESS_TOKEN");

	if (tok == NULL || *tok == '\0') {
		say("pwless-askpass: PWLESS_TOKEN is not set: this session "
		    "did not log in with pwless. Log in with your key, or run "
		    "'export PWLESS_TOKEN=$(pwless login < KEYFILE)'.\n");
		return 1;
	}
	if (write_all(tok, strlen(tok)) != 0 || write_all("\n", 1) != 0) {
		say("pwless-askpass: cannot write to standard output\n");
		return 1;
	}
	return 0;
}
