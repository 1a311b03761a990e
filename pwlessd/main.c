/*
 * main.c: pwlessd's entry point, read top to bottom: options, config,
 * master key, database, socket, privileges, readiness, event loop, stop.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

struct opts {
	const char	*config;
	int		 config_given;
	int		 foreground;
	int		 check;
	int		 debug;
	int		 init;		/* --init: create the master key */
	const char	*init_user;	/* --init=USER: its owner */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: pwlessd [-c FILE] [-f] [-d] [--check-config] "
	    "[--init[=USER]]\n"
	    "  -c, --config FILE  configuration (default %s)\n"
	    "  -f, --foreground   stay in the foreground, log to stderr\n"
	    "  -d, --debug        log each request (secrets redacted)\n"
	    "      --check-config report every configuration error and "
	    "exit\n"
	    "      --init[=USER]  create the master key (owned by USER, "
	    "else [daemon] user)\n"
	    "                     if it is missing, check it, and exit\n"
	    "  -V, --version      print the version\n", CFG_DEFAULT_FILE);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "init", optional_argument, NULL, 'I' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = CFG_DEFAULT_FILE;
	while ((ch = getopt_long(argc, argv, "c:fdVh", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; o->config_given = 1; break;
		case 'f': o->foreground = 1; break;
		case 'd': o->debug = 1; break;
		case 'C': o->check = 1; break;
		case 'I': o->init = 1; o->init_user = optarg; break;
		case 'V': printf("%s\n", PWLESSD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Keeps the new config unless it has errors; paths need a restart. */
int
daemon_reload(struct daemon *d)
{
	struct config *nc;
	char *errs = NULL;
	size_t elen = 0;
	FILE *ef;
	int n;

	if ((nc = malloc(sizeof(*nc))) == NULL ||
	    (ef = open_memstream(&errs, &elen)) == NULL) {
		free(nc);
		return -1;
	}
	config_defaults(nc);
	n = config_load(nc, d->cfg_path, d->cfg_must_exist, ef);
	fclose(ef);
	if (n != 0) {
		log_msg(LOG_ERR, "reload: %s unchanged, fix: %s", d->cfg_path,
		    errs != NULL ? errs : "unreadable");
	} else {
		if (strcmp(nc->socket, d->cfg.socket) != 0 ||
		    strcmp(nc->database, d->cfg.database) != 0 ||
		    strcmp(nc->master_key, d->cfg.master_key) != 0 ||
		    strcmp(nc->user, d->cfg.user) != 0)
			log_msg(LOG_WARNING, "reload: socket, database, "
			    "master_key and user take effect on restart");
		memcpy(nc->socket, d->cfg.socket, sizeof(nc->socket));
		memcpy(nc->database, d->cfg.database, sizeof(nc->database));
		memcpy(nc->master_key, d->cfg.master_key,
		    sizeof(nc->master_key));
		memcpy(nc->user, d->cfg.user, sizeof(nc->user));
		d->cfg = *nc;
		outbox_reload(d);
		log_msg(LOG_INFO, "reloaded %s", d->cfg_path);
	}
	free(errs);
	free(nc);
	return n == 0 ? 0 : -1;
}

/*
 * The uid pwlessd serves as, which owns the master key: [daemon] user
 * (or name) when started as root, else the uid it was started as.
 */
static int
serve_as(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	*uid = geteuid();
	*gid = getegid();
	if (name[0] == '\0' || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(name)) == NULL) {
		log_msg(LOG_ERR, "[daemon] user: no such user '%s'; create it "
		    "(useradd --system --user-group --home-dir /var/lib/pwless "
		    "--shell /usr/sbin/nologin %s) or remove the setting",
		    name, name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int
drop_privileges(struct daemon *d, uid_t uid, gid_t gid)
{
	if (d->cfg.user[0] == '\0' || geteuid() != 0)
		return 0;
	if (store_chown(d->st, uid, gid) != 0 ||
	    initgroups(d->cfg.user, gid) != 0 ||
	    setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0 ||
	    setuid(0) == 0) {
		log_msg(LOG_ERR, "cannot drop privileges to %s: %s",
		    d->cfg.user, strerror(errno));
		return -1;
	}
	return 0;
}

/* --init: makes sure the master key exists with the right owner. */
static int
init_master(struct daemon *d, const struct opts *o)
{
	uint8_t master[MASTER_KEY_LEN];
	uid_t uid;
	gid_t gid;
	int r;

	if (serve_as(o->init_user != NULL ? o->init_user : d->cfg.user,
	    &uid, &gid) != 0)
		return 1;
	r = secret_master(d->cfg.master_key, uid, gid, master);
	sodium_memzero(master, sizeof(master));
	if (r == 0)
		printf("%s: master key OK (mode 0600, uid %u)\n",
		    d->cfg.master_key, (unsigned)uid);
	return r == 0 ? 0 : 1;
}

/*
 * Forks into the background; the parent waits on a pipe until the child
 * says it is ready (1) or failed (0), so start-up errors reach the shell.
 */
static int
daemonize(int *ready_fd)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 0;
		_exit(c == 1 ? 0 : 1);
	}
	close(p[0]);
	*ready_fd = p[1];
	if (setsid() < 0)
		return -1;
	return 0;
}

static void
detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if (path[0] == '\0')
		return;
	if ((f = fopen(path, "we")) == NULL) {
		log_msg(LOG_WARNING, "cannot write pid file %s: %s", path,
		    strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* sd_notify without libsystemd, as OpenSSH does it. */
static void
notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	static const char msg[] = "READY=1";
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + strlen(path)));
	close(fd);
}

static int
load_config(struct daemon *d, const struct opts *o)
{
	int n;

	config_defaults(&d->cfg);
	d->cfg_path = o->config;
	d->cfg_must_exist = o->config_given;
	n = config_load(&d->cfg, o->config, o->config_given, stderr);
	if (o->check) {
		if (n == 0)
			printf("%s: configuration OK\n", o->config);
		else if (n > 0)
			fprintf(stderr, "%s: %d error%s\n", o->config, n,
			    n == 1 ? "" : "s");
		exit(n == 0 ? 0 : 1);
	}
	return n == 0 ? 0 : -1;
}

static void
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);	/* no core dumps with keys in them */
	signal(SIGPIPE, SIG_IGN);
	umask(077);
}

static int
start(struct daemon *d, const struct opts *o, int *ready_fd)
{
	uid_t uid;
	gid_t gid;

	if (!o->foreground && daemonize(ready_fd) != 0)
		return -1;
	if (serve_as(d->cfg.user, &uid, &gid) != 0 ||
	    secret_init(&d->sec, d->cfg.master_key, uid, gid) != 0)
		return -1;
	if (store_open(d->cfg.database, &d->st) != 0) {
		log_msg(LOG_ERR, "cannot use database %s; see the message "
		    "above", d->cfg.database);
		return -1;
	}
	if (audit_open(d) != 0 || listen_open(d) != 0)
		return -1;
	if (!o->foreground && d->cfg.pidfile[0] == '\0')
		snprintf(d->cfg.pidfile, sizeof(d->cfg.pidfile),
		    "/run/pwless/pwlessd.pid");
	write_pidfile(d->cfg.pidfile);
	if (drop_privileges(d, uid, gid) != 0)
		return -1;
	/* after the drop: the sender runs as the daemon's own user */
	return outbox_init(d);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct opts o;
	int ready_fd = -1, r = 1;

	memset(&d, 0, sizeof(d));
	d.listen_fd = d.epfd = d.sigfd = d.reserve_fd = -1;
	d.audit.jfd = -1;
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	d.foreground = o.foreground;
	if (load_config(&d, &o) != 0)
		return 1;
	harden_process();
	log_init(1, o.debug);
	if (sodium_init() < 0) {
		log_msg(LOG_ERR, "libsodium failed to initialise");
		return 1;
	}
	if (o.init)
		return init_master(&d, &o);
	if (start(&d, &o, &ready_fd) != 0)
		goto out;
	log_msg(LOG_INFO, "%s listening on %s, database %s", PWLESSD_VERSION,
	    d.cfg.socket, d.cfg.database);
	if (ready_fd >= 0) {
		log_init(0, o.debug);
		detach_stdio();
		(void)write(ready_fd, "\1", 1);
		close(ready_fd);
		ready_fd = -1;
	}
	notify_ready();
	r = listen_loop(&d) == 0 ? 0 : 1;
 out:
	outbox_stop(&d);
	listen_close(&d);
	if (d.st != NULL)
		audit_close(&d);
	store_close(d.st);
	if (d.cfg.pidfile[0] != '\0' && r == 0)
		unlink(d.cfg.pidfile);
	sodium_memzero(&d.sec, sizeof(d.sec));
	return r;
}
