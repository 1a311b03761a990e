/*
 * doctor_sys.c: what 'pwless doctor' learns from outside the PAM stack:
 * the few pwlessd.conf values it needs (read with libinih, as pwlessd
 * does), other programs' output (pwlessd --check-config, sshd -T), and
 * sshd's effective settings.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "pwlessd/conf.h"
#include "util.h"

#define RUN_MS		30000	/* a program doctor runs must finish */

/* --- pwlessd.conf -------------------------------------------------------- */

static int
on_value(void *user, const char *section, const char *name,
    const char *value)
{
	struct doc_conf *c = user;
	const struct {
		const char	*section, *name;
		char		*dst;
		size_t		 sz;
	} t[] = {
		{ "daemon", "socket", c->socket, sizeof(c->socket) },
		{ "daemon", "database", c->database, sizeof(c->database) },
		{ "daemon", "master_key", c->master_key,
		    sizeof(c->master_key) },
		{ "daemon", "user", c->user, sizeof(c->user) },
		{ "email", "transport", c->email_transport,
		    sizeof(c->email_transport) },
		{ "sms", "transport", c->sms_transport,
		    sizeof(c->sms_transport) },
	};
	size_t i;

	if (name == NULL)
		return 1;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(section, t[i].section) == 0 &&
		    strcmp(name, t[i].name) == 0)
			pwl_strlcpy(t[i].dst, value, t[i].sz);
	return 1;
}

/* Reads d->config over the defaults; -1 when it exists but is unreadable. */
int
doc_read_conf(struct doctor *d)
{
	struct doc_conf *c = &d->conf;
	FILE *f;

	memset(c, 0, sizeof(*c));
	pwl_strlcpy(c->socket, PWL_DEFAULT_SOCKET, sizeof(c->socket));
	pwl_strlcpy(c->database, CFG_DEFAULT_DB, sizeof(c->database));
	pwl_strlcpy(c->master_key, CFG_DEFAULT_MASTER, sizeof(c->master_key));
	if ((f = fopen(d->config, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	c->found = 1;
	ini_parse_file(f, on_value, c);
	fclose(f);
	return 0;
}

/* 1 when a [email]/[sms] transport value can send something. */
int
doc_transport_set(const char *v)
{
	return v[0] != '\0' && strcmp(v, "none") != 0;
}

/* --- running programs ---------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
child(int fd, const char *const argv[])
{
	int null = open("/dev/null", O_RDONLY);

	if (null >= 0)
		dup2(null, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	execv(argv[0], (char *const *)(uintptr_t)argv);
	_exit(127);
}

/*
 * Runs argv (no shell) with stdout and stderr into out (NUL-terminated,
 * cut at outsz); *status is its exit status, 127 when it could not run.
 * Returns 0, or -1 when it could not be started or took too long.
 */
int
doc_run(const char *const argv[], char *out, size_t outsz, int *status)
{
	struct pollfd pfd;
	int p[2], ws, r = -1;
	size_t len = 0;
	ssize_t n;
	int64_t end = now_ms() + RUN_MS;
	pid_t pid;
	char sink[512];

	out[0] = '\0';
	*status = 127;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0)
		child(p[1], argv);
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		if (now_ms() >= end ||
		    poll(&pfd, 1, (int)(end - now_ms())) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (len + 1 < outsz)
			n = read(p[0], out + len, outsz - len - 1);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n <= 0) {
			r = 0;
			break;
		}
		if (len + 1 < outsz)
			len += (size_t)n;
	}
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	return r;
}

/* --- sshd ---------------------------------------------------------------- */

/* The value of a keyword in sshd -T output ("usepam yes"), or "". */
static const char *
sshd_value(const char *out, const char *key, char *buf, size_t sz)
{
	size_t n = strlen(key);
	const char *p = out;

	buf[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			snprintf(buf, sz, "%.*s", (int)strcspn(p + n + 1, "\n"),
			    p + n + 1);
			break;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return buf;
}

static void
sshd_rules(struct doctor *d, const char *w, const char *out)
{
	char pam[16], kbd[16], pw[16], am[512];
	int k, p;

	sshd_value(out, "usepam", pam, sizeof(pam));
	sshd_value(out, "kbdinteractiveauthentication", kbd, sizeof(kbd));
	sshd_value(out, "passwordauthentication", pw, sizeof(pw));
	sshd_value(out, "authenticationmethods", am, sizeof(am));
	k = strcmp(kbd, "yes") == 0;
	p = strcmp(pw, "yes") == 0;
	if (strcmp(pam, "yes") != 0)
		doc_fail(d, w, "set 'UsePAM yes' in sshd_config and reload "
		    "sshd",
		    "sshd does not use PAM (UsePAM %s): pam_pwless is never "
		    "asked", pam[0] != '\0' ? pam : "unset");
	else
		doc_ok(w, "UsePAM yes");
	if (!k && !p)
		doc_fail(d, w, "set 'KbdInteractiveAuthentication yes' in "
		    "sshd_config", "neither keyboard-interactive nor password "
		    "authentication is on: sshd never runs the PAM auth stack");
	else if (!k)
		doc_warn(d, w, "set 'KbdInteractiveAuthentication yes' in "
		    "sshd_config", "only password authentication reaches PAM: "
		    "a one-time code then takes a second login attempt");
	else
		doc_ok(w, "KbdInteractiveAuthentication yes");
	if (strstr(am, "keyboard-interactive") != NULL && !k)
		doc_fail(d, w, "set 'KbdInteractiveAuthentication yes'",
		    "AuthenticationMethods %s needs keyboard-interactive, "
		    "which is off", am);
	else if (strcmp(am, "any") == 0 || am[0] == '\0')
		doc_note(w, "AuthenticationMethods any: an ssh public key "
		    "alone logs in without pam_pwless; to ask for a pwless "
		    "key after it: 'AuthenticationMethods "
		    "publickey,keyboard-interactive'");
	else if (strstr(am, "keyboard-interactive") == NULL &&
	    strstr(am, "password") == NULL)
		doc_warn(d, w, "add keyboard-interactive to "
		    "AuthenticationMethods", "AuthenticationMethods %s never "
		    "runs PAM authentication", am);
	else
		doc_ok(w, "AuthenticationMethods %s", am);
}

void
doc_check_sshd(struct doctor *d)
{
	const char *argv[6];
	char out[32768], w[PATH_MAX + 16];
	int n = 0, st;

	if (d->sshd_config == NULL && !d->sshd_pam)
		return;
	snprintf(w, sizeof(w), "sshd (%s)", d->sshd_config != NULL ?
	    d->sshd_config : "/etc/ssh/sshd_config");
	if (access(d->sshd, X_OK) != 0) {
		doc_note(w, "%s is not installed: sshd not checked", d->sshd);
		return;
	}
	argv[n++] = d->sshd;
	argv[n++] = "-T";
	if (d->sshd_config != NULL) {
		argv[n++] = "-f";
		argv[n++] = d->sshd_config;
	}
	argv[n] = NULL;
	if (doc_run(argv, out, sizeof(out), &st) != 0 || st != 0) {
		out[strcspn(out, "\n")] = '\0';
		doc_warn(d, w, "fix sshd_config until 'sshd -t' is silent",
		    "'sshd -T' failed: %s", out[0] != '\0' ? out :
		    "no output");
		return;
	}
	sshd_rules(d, w, out);
}
