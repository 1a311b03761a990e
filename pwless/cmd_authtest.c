/*
 * cmd_authtest.c: 'pwless auth-test USER', a real PAM conversation on the
 * terminal (libpam_misc's misc_conv) through a service's auth and account
 * stacks, so an administrator can try a stack without logging out.
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_misc.h>

#include "pwless.h"

/* Starts the transaction, on --pam-dir's files when given. */
static int
start(const char *service, const char *user, const char *dir,
    const struct pam_conv *conv, pam_handle_t **ph)
{
	if (dir == NULL)
		return pam_start(service, user, conv, ph);
#ifdef HAVE_PAM_START_CONFDIR
	return pam_start_confdir(service, user, conv, dir, ph);
#else
	cli_error("this libpam has no pam_start_confdir: --pam-dir needs "
	    "Linux-PAM 1.4 or later");
	*ph = NULL;
	return PAM_SYSTEM_ERR;
#endif
}

/* PAM_TTY and PAM_RUSER, as login programs set them. */
static void
set_items(pam_handle_t *ph)
{
	struct passwd *pw = getpwuid(getuid());
	const char *tty = ttyname(STDIN_FILENO);

	if (tty != NULL)
		pam_set_item(ph, PAM_TTY, tty);
	if (pw != NULL)
		pam_set_item(ph, PAM_RUSER, pw->pw_name);
}

static void
report(pam_handle_t *ph, const char *what, int r)
{
	printf("%s: %s (%s)\n", what, r == PAM_SUCCESS ? "success" :
	    "refused", pam_strerror(ph, r));
}

int
cmd_authtest(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
		{ "service", 1, NULL }, { "pam-dir", 1, NULL },
		{ NULL, 0, NULL },
	};
	struct pam_conv conv = { misc_conv, NULL };
	const char *service, *user;
	pam_handle_t *ph = NULL;
	char *pos[1];
	int r, ex;

	if (cli_args(c, argc, argv, opts, pos, &ex) != 0)
		return ex;
	user = pos[0];
	service = opts[0].val != NULL ? opts[0].val : "login";
	if (!cli_check_text("USER", user, PWL_USER_MAX) ||
	    !cli_check_text("--service", service, PWL_SERVICE_MAX))
		return CLI_EXIT_REFUSED;
	if ((r = start(service, user, opts[1].val, &conv, &ph)) !=
	    PAM_SUCCESS) {
		cli_error("cannot start PAM for service %s: %s; check %s/%s",
		    service, pam_strerror(ph, r), opts[1].val != NULL ?
		    opts[1].val : "/etc/pam.d", service);
		return CLI_EXIT_REFUSED;
	}
	set_items(ph);
	fprintf(stderr, "pwless: trying PAM service %s as user %s; answer "
	    "the prompts as at a login\n", service, user);
	r = pam_authenticate(ph, 0);
	report(ph, "auth", r);
	if (r == PAM_SUCCESS) {
		r = pam_acct_mgmt(ph, 0);
		report(ph, "account", r);
	}
	if (r == PAM_SUCCESS && pam_getenv(ph, "PWLESS_TOKEN") != NULL)
		printf("session token: PWLESS_TOKEN was set (not shown)\n");
	pam_end(ph, r);
	return r == PAM_SUCCESS ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
}
