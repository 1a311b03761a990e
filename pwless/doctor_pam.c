/*
 * doctor_pam.c: 'pwless doctor' on the PAM configuration.  Reads every
 * service in the pam.d directory that names pam_pwless, expands its
 * includes and substacks, and replays the auth stack the way libpam's
 * dispatcher does, to find stacks that let a user in when pam_pwless fails.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "util.h"

#define MAX_LINES	256
#define MAX_DEPTH	8
#define LINE_MAX_LEN	1024

/* The return codes the replay tells apart. */
enum rv { RV_SUCCESS, RV_AUTH_ERR, RV_CONV_ERR, RV_UNAVAIL, RV_UNKNOWN,
	RV_IGNORE, RV_N };

/* Actions; a jump over N modules is N itself (> 0). */
#define A_OK		(-1)
#define A_DONE		(-2)
#define A_BAD		(-3)
#define A_DIE		(-4)
#define A_IGNORE	(-5)
#define A_RESET		(-6)
#define A_UNSET		(-7)

struct pline {
	char		 file[64];	/* pam.d file it came from */
	int		 lineno;
	int		 level;		/* substack depth */
	char		 control[128];
	char		 module[256];
	char		 args[LINE_MAX_LEN];
	int		 act[RV_N];
};

struct stack {
	struct pline	 l[MAX_LINES];
	int		 n;
};

/* Options pam_pwless parses (pam_pwless.c parse_opts); a test compares. */
static const char *const known_opts[] = {
	"methods=", "prompt=", "socket=", "timeout=", "channel=",
	"use_first_pass", "try_first_pass", "ignore_unknown_user",
	"ignore_unavailable", "show_destination", "no_token", "debug",
	NULL,
};

/* Modules that decide nothing about who someone is. */
static const char *const neutral[] = {
	"pam_env.so", "pam_faildelay.so", "pam_nologin.so", "pam_group.so",
	"pam_cap.so", "pam_keyinit.so", "pam_limits.so", "pam_securetty.so",
	"pam_shells.so", "pam_motd.so", "pam_mail.so", "pam_lastlog.so",
	"pam_loginuid.so", "pam_selinux.so", "pam_systemd.so",
	"pam_umask.so", "pam_warn.so", "pam_echo.so", "pam_faillock.so",
	"pam_gnome_keyring.so", "pam_kwallet5.so", "pam_permit.so", NULL,
};

/* Modules that log in with a password. */
static const char *const password_mods[] = {
	"pam_unix.so", "pam_sss.so", "pam_ldap.so", "pam_krb5.so",
	"pam_winbind.so", "pam_userdb.so", "pam_pwdb.so", NULL,
};

static const char *
base(const char *mod)
{
	const char *s = strrchr(mod, '/');

	return s != NULL ? s + 1 : mod;
}

static int
in_list(const char *const *list, const char *mod)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, base(mod)) == 0)
			return 1;
	return 0;
}

static int
is_pwless(const struct pline *l)
{
	return strcmp(base(l->module), "pam_pwless.so") == 0;
}

/* The value of name=... among a line's arguments, or NULL. */
static const char *
arg_value(const char *args, const char *name, char *buf, size_t sz)
{
	size_t n = strlen(name);
	const char *p = args;

	while (*p != '\0') {
		size_t w = strcspn(p, " \t");

		if (w > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			snprintf(buf, sz, "%.*s", (int)(w - n - 1), p + n + 1);
			return buf;
		}
		p += w;
		p += strspn(p, " \t");
	}
	return NULL;
}

static int
has_arg(const char *args, const char *word)
{
	size_t n = strlen(word);
	const char *p = args;

	while (*p != '\0') {
		size_t w = strcspn(p, " \t");

		if (w == n && strncmp(p, word, n) == 0)
			return 1;
		p += w;
		p += strspn(p, " \t");
	}
	return 0;
}

/* --- control fields ------------------------------------------------------ */

static int
action_of(const char *s)
{
	static const struct { const char *n; int a; } t[] = {
		{ "ok", A_OK }, { "done", A_DONE }, { "bad", A_BAD },
		{ "die", A_DIE }, { "ignore", A_IGNORE }, { "reset", A_RESET },
	};
	size_t i;
	char *end;
	long v;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].a;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v < MAX_LINES ? (int)v : A_BAD;
}

static int
rv_of(const char *s)
{
	static const char *const n[RV_N] = { "success", "auth_err",
	    "conv_err", "authinfo_unavail", "user_unknown", "ignore" };
	int i;

	for (i = 0; i < RV_N; i++)
		if (strcmp(s, n[i]) == 0)
			return i;
	return -1;
}

/* Fills act[] from "required" or "[success=1 default=ignore]". */
static void
parse_control(const char *c, int act[RV_N])
{
	char buf[128], *p, *save = NULL, *eq;
	int i, def = A_UNSET, v;

	for (i = 0; i < RV_N; i++)
		act[i] = A_UNSET;
	if (strcmp(c, "required") == 0 || strcmp(c, "requisite") == 0) {
		for (i = 0; i < RV_N; i++)
			act[i] = c[7] == 'e' ? A_DIE : A_BAD;
		act[RV_SUCCESS] = A_OK;
		act[RV_IGNORE] = A_IGNORE;
		return;
	}
	if (strcmp(c, "sufficient") == 0 || strcmp(c, "optional") == 0) {
		for (i = 0; i < RV_N; i++)
			act[i] = A_IGNORE;
		act[RV_SUCCESS] = c[0] == 's' ? A_DONE : A_OK;
		return;
	}
	pwl_strlcpy(buf, c[0] == '[' ? c + 1 : c, sizeof(buf));
	if ((p = strchr(buf, ']')) != NULL)
		*p = '\0';
	for (p = strtok_r(buf, " \t", &save); p != NULL;
	    p = strtok_r(NULL, " \t", &save)) {
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(p, "default") == 0)
			def = action_of(eq);
		else if ((v = rv_of(p)) >= 0)
			act[v] = action_of(eq);
	}
	for (i = 0; i < RV_N; i++)
		if (act[i] == A_UNSET)
			act[i] = def == A_UNSET ? A_BAD : def;
}

/* --- reading pam.d files ------------------------------------------------- */

static int read_file(struct doctor *, const char *name, const char *type,
    int level, int depth, struct stack *);

/* Splits one logical line; 0 when it is a module line. */
static int
split(char *s, char **type, char **control, char **module, char **args)
{
	char *p = s + strspn(s, " \t");

	*type = p;
	p += strcspn(p, " \t");
	if (*p == '\0')
		return -1;
	*p++ = '\0';
	p += strspn(p, " \t");
	*control = p;
	if (*p == '[') {
		if ((p = strchr(p, ']')) == NULL)
			return -1;
		p++;
	} else
		p += strcspn(p, " \t");
	if (*p == '\0')
		return -1;
	*p++ = '\0';
	p += strspn(p, " \t");
	*module = p;
	p += strcspn(p, " \t");
	if (*p != '\0')
		*p++ = '\0';
	*args = p + strspn(p, " \t");
	return **module == '\0' ? -1 : 0;
}

static void
add_line(struct stack *st, const char *file, int lineno, int level,
    const char *control, const char *module, const char *args)
{
	struct pline *l;

	if (st->n == MAX_LINES)
		return;
	l = &st->l[st->n++];
	pwl_strlcpy(l->file, file, sizeof(l->file));
	l->lineno = lineno;
	l->level = level;
	pwl_strlcpy(l->control, control, sizeof(l->control));
	pwl_strlcpy(l->module, module, sizeof(l->module));
	pwl_strlcpy(l->args, args, sizeof(l->args));
	parse_control(control, l->act);
}

/* One logical line of file name: a module, or an include to expand. */
static void
one_line(struct doctor *d, const char *name, int lineno, char *s,
    const char *type, int level, int depth, struct stack *st)
{
	char *t, *c, *m, *a;

	s += strspn(s, " \t");
	if (strncmp(s, "@include", 8) == 0) {
		s += 8;
		s += strspn(s, " \t");
		s[strcspn(s, " \t")] = '\0';
		read_file(d, s, type, level, depth + 1, st);
		return;
	}
	if (split(s, &t, &c, &m, &a) != 0)
		return;
	if (*t == '-')
		t++;
	if (strcmp(t, type) != 0)
		return;
	if (strcmp(c, "include") == 0)
		read_file(d, m, type, level, depth + 1, st);
	else if (strcmp(c, "substack") == 0)
		read_file(d, m, type, level + 1, depth + 1, st);
	else
		add_line(st, name, lineno, level, c, m, a);
}

static int
read_file(struct doctor *d, const char *name, const char *type, int level,
    int depth, struct stack *st)
{
	char path[PATH_MAX], buf[LINE_MAX_LEN], line[LINE_MAX_LEN * 2];
	size_t len = 0, n;
	int lineno = 0, first = 0;
	FILE *f;

	if (depth > MAX_DEPTH || strchr(name, '/') != NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", d->pam_dir, name) >=
	    sizeof(path) || (f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		buf[strcspn(buf, "#\n")] = '\0';
		n = strlen(buf);
		if (len == 0)
			first = lineno;
		if (len + n + 1 < sizeof(line)) {
			memcpy(line + len, buf, n + 1);
			len += n;
		}
		if (len > 0 && line[len - 1] == '\\') {
			line[len - 1] = ' ';
			continue;
		}
		one_line(d, name, first, line, type, level, depth, st);
		len = 0;
	}
	fclose(f);
	return 0;
}

/* --- replaying the stack ------------------------------------------------- */

/* What line i returns when pam_pwless returns pw and nobody else knows. */
static int
outcome(const struct pline *l, int pw)
{
	if (is_pwless(l))
		return pw;
	if (strcmp(base(l->module), "pam_deny.so") == 0)
		return RV_AUTH_ERR;
	return in_list(neutral, l->module) ? RV_SUCCESS : RV_AUTH_ERR;
}

/* libpam's _pam_dispatch_aux on the stack; 1 when it ends in success. */
static int
replay(const struct stack *st, int pw)
{
	int imp[MAX_DEPTH + 2], sts[MAX_DEPTH + 2];
	int impression = 0, status = 0;	/* 0 undef, 1 pos, -1 neg */
	int i, r, a, lvl, prev = 0;

	imp[0] = 0;
	sts[0] = 0;
	for (i = 0; i < st->n; i++) {
		lvl = st->l[i].level;
		if (lvl > prev && lvl <= MAX_DEPTH + 1) {
			imp[lvl] = impression;
			sts[lvl] = status;
		}
		prev = lvl;
		r = outcome(&st->l[i], pw);
		a = st->l[i].act[r];
		if (a == A_RESET && lvl <= MAX_DEPTH + 1) {
			impression = imp[lvl];
			status = sts[lvl];
		} else if (a == A_OK || a == A_DONE) {
			if ((impression == 0 || (impression == 1 &&
			    status == 1)) && r != RV_IGNORE) {
				impression = 1;
				status = r == RV_SUCCESS;
			}
			if (impression == 1 && a == A_DONE)
				goto decided;
		} else if (a == A_BAD || a == A_DIE) {
			if (impression != -1) {
				impression = -1;
				status = 0;
			}
			if (a == A_DIE)
				goto decided;
		} else if (a > 0) {
			while (i + 1 < st->n && st->l[i + 1].level >= lvl &&
			    a > 0) {
				do
					i++;
				while (i + 1 < st->n &&
				    st->l[i + 1].level > lvl);
				a--;
			}
			if (a > 0)
				return 0;	/* bad jump: libpam fails */
		}
		continue;
 decided:
		while (i + 1 < st->n && st->l[i + 1].level >= lvl)
			i++;
	}
	return impression == 1 && status == 1;
}

/* --- checks -------------------------------------------------------------- */

static void
where(char *buf, size_t sz, const struct pline *l)
{
	snprintf(buf, sz, "%s:%d", l->file, l->lineno);
}

/* A sufficient password module before pam_pwless decides without it. */
static void
check_before(struct doctor *d, const struct stack *st, int pi)
{
	const struct pline *p = &st->l[pi], *l;
	char w[128], fix[512];
	int i;

	for (i = 0; i < pi; i++) {
		l = &st->l[i];
		if (l->level > p->level)
			continue;
		if (l->act[RV_SUCCESS] != A_DONE &&
		    !(l->act[RV_SUCCESS] > 0 && i + l->act[RV_SUCCESS] >= pi))
			continue;
		if (strcmp(base(l->module), "pam_rootok.so") == 0)
			continue;
		where(w, sizeof(w), p);
		snprintf(fix, sizeof(fix), "put the pam_pwless line above "
		    "'auth %s %s' (%s:%d), or make that line 'required' if "
		    "both must pass", l->control, base(l->module), l->file,
		    l->lineno);
		if (in_list(password_mods, l->module))
			doc_fail(d, w, fix, "'auth %s %s' at %s:%d comes "
			    "first: a password alone logs in and pam_pwless "
			    "is never asked", l->control, base(l->module),
			    l->file, l->lineno);
		else
			doc_warn(d, w, fix, "'auth %s %s' at %s:%d comes "
			    "first: when it succeeds, pam_pwless is not asked",
			    l->control, base(l->module), l->file, l->lineno);
	}
}

/* Replays the failures pam_pwless can return; none may end in success. */
static void
check_bypass(struct doctor *d, const struct stack *st, int pi)
{
	const struct pline *p = &st->l[pi];
	char w[128], what[256] = "";
	int unavail = has_arg(p->args, "ignore_unavailable") ? RV_IGNORE :
	    RV_UNAVAIL;
	int unknown = has_arg(p->args, "ignore_unknown_user") ? RV_IGNORE :
	    RV_AUTH_ERR;

	const char *const cases[] = { "a wrong key or code",
	    "Ctrl-C at the prompt", "pwlessd being down",
	    "a user not enrolled in pwless" };
	const int rvs[] = { RV_AUTH_ERR, RV_CONV_ERR, unavail, unknown };
	size_t i, len = 0;

	for (i = 0; i < sizeof(rvs) / sizeof(rvs[0]); i++)
		if (replay(st, rvs[i]) && len < sizeof(what))
			len += (size_t)snprintf(what + len, sizeof(what) - len,
			    ", %s", cases[i]);
	where(w, sizeof(w), p);
	if (what[0] != '\0')
		doc_fail(d, w, "use 'auth required pam_pwless.so', or "
		    "'auth [success=1 default=ignore] pam_pwless.so' followed "
		    "by 'auth requisite pam_deny.so'; a failure of pam_pwless "
		    "must never fall through to pam_permit",
		    "'auth %s pam_pwless.so' lets the user in without any "
		    "credential after%s", p->control, what + 1);
}

/* ignore_* hands the decision to another module: there must be one. */
static void
check_ignore(struct doctor *d, const struct stack *st, int pi)
{
	const struct pline *p = &st->l[pi];
	char w[128];
	const char *opt;
	int i;

	opt = has_arg(p->args, "ignore_unavailable") ? "ignore_unavailable" :
	    has_arg(p->args, "ignore_unknown_user") ? "ignore_unknown_user" :
	    NULL;
	if (opt == NULL)
		return;
	for (i = pi + 1; i < st->n; i++)
		if (!is_pwless(&st->l[i]) && !in_list(neutral, st->l[i].module)
		    && strcmp(base(st->l[i].module), "pam_deny.so") != 0)
			return;
	where(w, sizeof(w), p);
	doc_fail(d, w, "add the module that must succeed instead after "
	    "pam_pwless (for example '@include common-auth'), or remove the "
	    "option", "%s, but no module after pam_pwless can authenticate "
	    "the user: the option lets nobody in (or, with pam_permit, "
	    "everybody)", opt);
}

static void
check_methods(struct doctor *d, const struct pline *p)
{
	char w[128], m[256], ch[64];
	int email = doc_transport_set(d->conf.email_transport);
	int sms = doc_transport_set(d->conf.sms_transport);
	const char *methods = arg_value(p->args, "methods", m, sizeof(m));
	const char *channel = arg_value(p->args, "channel", ch, sizeof(ch));
	int code = methods == NULL || strstr(methods, "code") != NULL;

	where(w, sizeof(w), p);
	if (code && !email && !sms) {
		if (methods != NULL)
			doc_fail(d, w, "set [email] transport or [sms] "
			    "transport in pwlessd.conf, or remove code from "
			    "methods=", "methods=%s, but %s configures no "
			    "transport: no code can be sent", methods,
			    d->config);
		else
			doc_warn(d, w, "add methods=key,token to the line, or "
			    "configure a transport in pwlessd.conf",
			    "no methods= (key, code and token), but %s "
			    "configures no transport: a user who asks for a "
			    "code gets none", d->config);
		return;
	}
	if (code && channel != NULL && ((strcmp(channel, "email") == 0 &&
	    !email) || (strcmp(channel, "sms") == 0 && !sms)))
		doc_fail(d, w, "configure that transport in pwlessd.conf or "
		    "choose another channel=", "channel=%s, but %s has no "
		    "[%s] transport", channel, d->config, channel);
}

static void
check_options(struct doctor *d, const struct pline *p)
{
	char w[128], word[256];
	const char *s = p->args;
	size_t n, i;
	int ok;

	where(w, sizeof(w), p);
	while (*s != '\0') {
		n = strcspn(s, " \t");
		snprintf(word, sizeof(word), "%.*s", (int)n, s);
		for (ok = 0, i = 0; known_opts[i] != NULL && !ok; i++) {
			size_t k = strlen(known_opts[i]);

			ok = known_opts[i][k - 1] == '=' ?
			    strncmp(word, known_opts[i], k) == 0 :
			    strcmp(word, known_opts[i]) == 0;
		}
		if (!ok)
			doc_warn(d, w, "fix its spelling; see pam_pwless(8)",
			    "pam_pwless ignores the unknown option '%s'", word);
		s += n;
		s += strspn(s, " \t");
	}
}

static void
check_control(struct doctor *d, const struct pline *p)
{
	char w[128];

	where(w, sizeof(w), p);
	if (strcmp(p->control, "optional") == 0)
		doc_warn(d, w, "use 'required' (pwless is needed) or "
		    "'sufficient' (pwless or the modules after it)",
		    "'optional' pam_pwless only counts when no other module "
		    "decides: it adds nothing to this stack");
	else
		doc_ok(w, "auth %s pam_pwless.so", p->control);
}

static void
check_service(struct doctor *d, const char *name)
{
	struct stack *st;
	int i, seen = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return;
	read_file(d, name, "auth", 0, 0, st);
	for (i = 0; i < st->n; i++) {
		if (!is_pwless(&st->l[i]))
			continue;
		if (strcmp(name, "sshd") == 0)
			d->sshd_pam = 1;
		check_control(d, &st->l[i]);
		check_options(d, &st->l[i]);
		check_methods(d, &st->l[i]);
		if (!seen++) {
			check_before(d, st, i);
			check_bypass(d, st, i);
		}
		check_ignore(d, st, i);
	}
	free(st);
}

/* 1 when the file names pam_pwless itself. */
static int
names_pwless(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[LINE_MAX_LEN];
	FILE *f;
	int r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) || (f = fopen(path, "re")) == NULL)
		return 0;
	while (!r && fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "#")] = '\0';
		r = strstr(buf, "pam_pwless") != NULL;
	}
	fclose(f);
	return r;
}

void
doc_check_pam(struct doctor *d)
{
	struct dirent **ents;
	int i, n, used = 0;

	if ((n = scandir(d->pam_dir, &ents, NULL, alphasort)) < 0) {
		doc_warn(d, d->pam_dir, "give the PAM directory with "
		    "--pam-dir", "cannot read the PAM configuration");
		return;
	}
	for (i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;

		if (e[0] != '.' && strchr(e, '~') == NULL &&
		    strstr(e, ".dpkg-") == NULL &&
		    names_pwless(d->pam_dir, e)) {
			used++;
			check_service(d, e);
		} else if (strcmp(e, "sshd") == 0)
			check_service(d, e);	/* may include it */
		free(ents[i]);
	}
	free(ents);
	if (used == 0)
		doc_note(d->pam_dir, "no PAM service uses pam_pwless yet; see "
		    "EXAMPLES in pam_pwless(8)");
}
