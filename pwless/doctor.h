/*
 * doctor.h: shared state of 'pwless doctor': what it was told to look at,
 * the few pwlessd.conf values it needs, and how a finding is reported.
 */
#ifndef PWLESS_DOCTOR_H
#define PWLESS_DOCTOR_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>

#include "pwless.h"

#define DOC_STR		256

/* What doctor read from pwlessd.conf (or the defaults). */
struct doc_conf {
	int		 found;			/* the file exists */
	char		 socket[108];
	char		 database[PATH_MAX];
	char		 master_key[PATH_MAX];
	char		 user[DOC_STR];
	char		 email_transport[DOC_STR];	/* "" = none */
	char		 sms_transport[DOC_STR];
};

struct doctor {
	const char	*config;	/* pwlessd.conf */
	const char	*pam_dir;	/* /etc/pam.d */
	const char	*sshd_config;	/* NULL: sshd's default */
	const char	*pwlessd;	/* pwlessd binary for --check-config */
	const char	*sshd;		/* sshd binary for -T */
	const char	*socket;	/* where to say HELLO */
	struct doc_conf	 conf;
	int		 nfail;
	int		 nwarn;
	int		 sshd_pam;	/* some pam.d/sshd uses pam_pwless */
};

/* A finding: where, what is wrong, and the fix (fix may be NULL). */
void	doc_ok(const char *where, const char *fmt, ...) CLI_PRINTF(2, 3);
void	doc_fail(struct doctor *, const char *where, const char *fix,
	    const char *fmt, ...) CLI_PRINTF(4, 5);
void	doc_warn(struct doctor *, const char *where, const char *fix,
	    const char *fmt, ...) CLI_PRINTF(4, 5);
void	doc_note(const char *where, const char *fmt, ...) CLI_PRINTF(2, 3);

/* doctor_sys.c: the config file, other programs, sshd. */
int	doc_read_conf(struct doctor *);
int	doc_run(const char *const argv[], char *out, size_t outsz,
	    int *status);
void	doc_check_sshd(struct doctor *);
int	doc_transport_set(const char *);

/* doctor_pam.c: every PAM service that uses pam_pwless. */
void	doc_check_pam(struct doctor *);

#endif /* PWLESS_DOCTOR_H */
