/*
 * cmd_doctor.c: 'pwless doctor', a self-check for administrators: is
 * pwlessd running and its config valid, are its secrets private, and do
 * the PAM stacks and sshd actually ask pam_pwless.  Each finding says what
 * is wrong and the fix; the exit status says whether anything failed.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "pwlessd/conf.h"
#include "util.h"

#ifndef SBINDIR
#define SBINDIR		"/usr/sbin"
#endif

static void
finding(const char *tag, const char *where, const char *fix,
    const char *fmt, va_list ap)
{
	printf("%-6s %s: ", tag, where);
	vprintf(fmt, ap);
	putchar('\n');
	if (fix != NULL)
		printf("       fix: %s\n", fix);
}

void
doc_ok(const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finding("ok", where, NULL, fmt, ap);
	va_end(ap);
}

void
doc_note(const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	finding("note", where, NULL, fmt, ap);
	va_end(ap);
}

void
doc_fail(struct doctor *d, const char *where, const char *fix,
    const char *fmt, ...)
{
	va_list ap;

	d->nfail++;
	va_start(ap, fmt);
	finding("FAIL", where, fix, fmt, ap);
	va_end(ap);
}

void
doc_warn(struct doctor *d, const char *where, const char *fix,
    const char *fmt, ...)
{
	va_list ap;

	d->nwarn++;
	va_start(ap, fmt);
	finding("warn", where, fix, fmt, ap);
	va_end(ap);
}

/* --- the daemon and its config -------------------------------------------- */

static void
check_daemon(struct doctor *d)
{
	struct pwl_reply rep;
	char ver[PWL_STR_MAX + 1] = "", fix[512];
	int r;

	r = pwl_transact(d->socket, 5000, PWL_MSG_HELLO, NULL, 0, &rep);
	if (r == 0 && rep.msg.status == PWL_ST_OK) {
		pwl_msg_str(&rep.msg, PWL_T_VERSION, ver, sizeof(ver));
		if (strcmp(ver, "pwlessd " PACKAGE_VERSION) != 0)
			doc_warn(d, "daemon", "install the same version of "
			    "pwless, pwlessd and pam_pwless", "%s answers on "
			    "%s, but this is pwless %s", ver, d->socket,
			    PACKAGE_VERSION);
		else
			doc_ok("daemon", "%s answers on %s", ver, d->socket);
		return;
	}
	snprintf(fix, sizeof(fix), "start it: 'systemctl enable --now "
	    "pwlessd.socket', or 'pwlessd -c %s'; its log says why it "
	    "stopped ('journalctl -u pwlessd')", d->config);
	doc_fail(d, "daemon", fix, "nothing answers on %s (%s): every "
	    "pam_pwless login fails", d->socket, r != 0 ? pwl_strerror(r) :
	    pwl_status_name(rep.msg.status));
}

static void
check_config(struct doctor *d)
{
	const char *argv[] = { d->pwlessd, "--check-config", "-c", d->config,
	    NULL };
	char out[8192], fix[512], *line, *save = NULL;
	int st;

	if (!d->conf.found) {
		doc_note(d->config, "no such file: pwlessd runs on its "
		    "defaults (see pwlessd.conf(5))");
		return;
	}
	if (doc_run(argv, out, sizeof(out), &st) != 0 || st == 127) {
		doc_warn(d, d->config, "give pwlessd's path with --pwlessd",
		    "cannot run %s --check-config", d->pwlessd);
		return;
	}
	if (st == 0) {
		doc_ok(d->config, "pwlessd --check-config accepts it");
		return;
	}
	snprintf(fix, sizeof(fix), "edit %s (see pwlessd.conf(5)) until "
	    "'pwlessd --check-config -c %s' is happy", d->config, d->config);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		doc_fail(d, d->config, fix, "%s", line);
}

/* --- files ------------------------------------------------------------ */

/* The uid that must own the master key and the database. */
static int
daemon_uid(struct doctor *d, uid_t *uid, const char **name)
{
	struct passwd *pw;
	char fix[512];

	*uid = 0;
	*name = "root";
	if (d->conf.user[0] == '\0')
		return 0;
	if ((pw = getpwnam(d->conf.user)) == NULL) {
		snprintf(fix, sizeof(fix), "useradd --system --user-group "
		    "--home-dir /var/lib/pwless --shell /usr/sbin/nologin %s",
		    d->conf.user);
		doc_fail(d, d->config, fix, "[daemon] user %s does not exist: "
		    "pwlessd will not start", d->conf.user);
		return -1;
	}
	*uid = pw->pw_uid;
	*name = d->conf.user;
	return 0;
}

/* Owner and mode of a secret file or directory; 0 when both are right. */
static int
check_private(struct doctor *d, const char *what, const char *path,
    const struct stat *st, uid_t uid, const char *owner)
{
	char fix[PATH_MAX + 64];
	int bad = 0;

	if ((st->st_mode & 077) != 0) {
		snprintf(fix, sizeof(fix), "chmod %s %s",
		    S_ISDIR(st->st_mode) ? "700" : "600", path);
		doc_fail(d, path, fix, "%s has mode %04o: other users can "
		    "read it%s", what, (unsigned)(st->st_mode & 07777),
		    strcmp(what, "master key") == 0 ? ", and with it forge "
		    "the hashes of every key" : "");
		bad = 1;
	}
	if (st->st_uid != uid) {
		snprintf(fix, sizeof(fix), "chown %s %s", owner, path);
		doc_fail(d, path, fix, "%s is owned by uid %u, not by %s, "
		    "the user pwlessd runs as", what, (unsigned)st->st_uid,
		    owner);
		bad = 1;
	}
	return bad;
}

static void
check_master(struct doctor *d, uid_t uid, const char *owner)
{
	const char *p = d->conf.master_key;
	struct stat st;

	if (lstat(p, &st) != 0) {
		if (errno == ENOENT)
			doc_note(p, "no master key yet: pwlessd creates it on "
			    "its first start ('pwlessd --init' does it now)");
		else
			doc_warn(d, p, "run pwless doctor as root",
			    "cannot read: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		doc_fail(d, p, "replace it by the regular file pwlessd created",
		    "the master key is not a regular file (pwlessd refuses "
		    "symbolic links)");
		return;
	}
	if (check_private(d, "master key", p, &st, uid, owner) == 0) {
		if (st.st_size != 32)
			doc_fail(d, p, "restore it from your backup",
			    "the master key holds %lld bytes, not 32",
			    (long long)st.st_size);
		else
			doc_ok(p, "master key: mode 0600, owned by %s", owner);
	}
}

static void
check_database(struct doctor *d, uid_t uid, const char *owner)
{
	char dir[PATH_MAX], mdir[PATH_MAX], journal[PATH_MAX + 8];
	struct stat st;

	pwl_strlcpy(dir, d->conf.database, sizeof(dir));
	dirname(dir);
	pwl_strlcpy(mdir, d->conf.master_key, sizeof(mdir));
	dirname(mdir);
	if (strcmp(dir, mdir) == 0)
		doc_warn(d, d->conf.master_key, "keep the master key in "
		    "/etc/pwless, away from the database", "the master key "
		    "sits beside the database: a backup of one holds both");
	if (stat(dir, &st) != 0) {
		doc_note(dir, "no database directory yet: pwlessd creates it "
		    "on its first start");
		return;
	}
	if (check_private(d, "the database directory", dir, &st, uid,
	    owner) == 0)
		doc_ok(dir, "database directory: mode %04o, owned by %s",
		    (unsigned)(st.st_mode & 07777), owner);
	if (stat(d->conf.database, &st) == 0 && check_private(d,
	    "the database", d->conf.database, &st, uid, owner) == 0)
		doc_ok(d->conf.database, "database: mode %04o, owned by %s",
		    (unsigned)(st.st_mode & 07777), owner);
	/* the audit journal: rows on their way into the database */
	snprintf(journal, sizeof(journal), "%s-audit", d->conf.database);
	if (stat(journal, &st) == 0 && check_private(d, "the audit journal",
	    journal, &st, uid, owner) == 0)
		doc_ok(journal, "audit journal: mode %04o, owned by %s",
		    (unsigned)(st.st_mode & 07777), owner);
}

static void
check_files(struct doctor *d)
{
	const char *owner;
	uid_t uid;

	if (daemon_uid(d, &uid, &owner) != 0)
		return;
	check_master(d, uid, owner);
	check_database(d, uid, owner);
}

/* --- a test message through the configured transport ------------------ */

#define SEND_WAIT_MS	30000	/* the sender's default whole-delivery timeout */

static int
outbox_state(struct doctor *d, uint64_t id, char *state, size_t ssz,
    uint32_t *tries, char *err, size_t esz)
{
	uint8_t buf[64];
	struct pwl_wbuf w;
	struct pwl_reply rep;

	pwl_w_init(&w, buf, sizeof(buf));
	pwl_w_u64(&w, PWL_T_OUTBOX_ID, id);
	if (pwl_transact(d->socket, 5000, PWL_MSG_ADMIN_OUTBOX_STATE, w.p,
	    w.len, &rep) != 0 || rep.msg.status != PWL_ST_OK)
		return -1;
	pwl_msg_str(&rep.msg, PWL_T_STATE, state, ssz);
	pwl_msg_str(&rep.msg, PWL_T_LAST_ERROR, err, esz);
	if (pwl_msg_u32(&rep.msg, PWL_T_COUNT, tries) != 0)
		*tries = 0;
	return 0;
}

/* Waits for the first delivery attempt of row id and says how it went. */
static void
send_verdict(struct doctor *d, const char *dest, uint64_t id)
{
	char state[16] = "", err[PWL_STR_MAX + 1] = "";
	uint32_t tries = 0;
	int waited;

	for (waited = 0; waited < SEND_WAIT_MS; waited += 250) {
		if (outbox_state(d, id, state, sizeof(state), &tries, err,
		    sizeof(err)) != 0)
			break;
		if (strcmp(state, "queued") != 0 || tries > 0)
			break;
		usleep(250000);
	}
	if (strcmp(state, "sent") == 0)
		doc_ok("send-test", "a test message to %s was delivered; "
		    "check that it arrived", dest);
	else if (tries > 0 || strcmp(state, "dead") == 0)
		doc_fail(d, "send-test", "check the transport settings in "
		    "pwlessd.conf ([email] url, from, username, password_file; "
		    "[sms] url, auth) and that this host reaches the server",
		    "delivery to %s failed (%s, %u tr%s): %s", dest, state,
		    tries, tries == 1 ? "y" : "ies", err[0] ? err : "no reason "
		    "given");
	else
		doc_fail(d, "send-test", "see pwlessd's log ('journalctl -u "
		    "pwlessd'): is pwlessd-sender running?", "the test message "
		    "to %s was not tried within %d s (state %s)", dest,
		    SEND_WAIT_MS / 1000, state[0] ? state : "unknown");
}

static void
send_test(struct doctor *d, const char *dest)
{
	uint8_t buf[512];
	struct pwl_wbuf w;
	struct pwl_reply rep;
	char msg[PWL_STR_MAX + 1] = "";
	uint64_t id;
	int r;

	pwl_w_init(&w, buf, sizeof(buf));
	pwl_w_str(&w, dest[0] == '+' ? PWL_T_PHONE : PWL_T_EMAIL, dest);
	r = pwl_transact(d->socket, 5000, PWL_MSG_ADMIN_SEND_TEST, w.p, w.len,
	    &rep);
	if (r == 0 && rep.msg.status == PWL_ST_OK &&
	    pwl_msg_u64(&rep.msg, PWL_T_OUTBOX_ID, &id) == 0) {
		send_verdict(d, dest, id);
		return;
	}
	if (r == 0)
		pwl_msg_str(&rep.msg, PWL_T_MESSAGE, msg, sizeof(msg));
	doc_fail(d, "send-test", msg[0] != '\0' ? msg : "see the daemon "
	    "finding above", "cannot queue a test message to %s (%s)", dest,
	    r != 0 ? pwl_strerror(r) : pwl_status_name(rep.msg.status));
}

/* --- the command ------------------------------------------------------- */

int
cmd_doctor(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
		{ "config", 1, NULL }, { "pam-dir", 1, NULL },
		{ "sshd-config", 1, NULL }, { "pwlessd", 1, NULL },
		{ "send-test", 1, NULL }, { NULL, 0, NULL },
	};
	struct doctor d;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	memset(&d, 0, sizeof(d));
	d.config = opts[0].val != NULL ? opts[0].val : CFG_DEFAULT_FILE;
	d.pam_dir = opts[1].val != NULL ? opts[1].val : "/etc/pam.d";
	d.sshd_config = opts[2].val;
	d.pwlessd = opts[3].val != NULL ? opts[3].val : SBINDIR "/pwlessd";
	d.sshd = "/usr/sbin/sshd";
	if (doc_read_conf(&d) != 0)
		doc_fail(&d, d.config, "run pwless doctor as root",
		    "cannot read: %s", strerror(errno));
	/* --socket and PWLESS_SOCKET win over the config's socket. */
	d.socket = strcmp(c->socket, PWL_DEFAULT_SOCKET) != 0 ? c->socket :
	    d.conf.socket;
	if (geteuid() != 0)
		doc_warn(&d, "doctor", "run it as root: sudo pwless doctor",
		    "not running as root: some files cannot be checked");
	check_config(&d);
	check_daemon(&d);
	check_files(&d);
	doc_check_pam(&d);
	doc_check_sshd(&d);
	if (opts[4].val != NULL)
		send_test(&d, opts[4].val);
	printf("\n%d failure%s, %d warning%s\n", d.nfail, d.nfail == 1 ? "" :
	    "s", d.nwarn, d.nwarn == 1 ? "" : "s");
	return d.nfail == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
}
