/*
 * codefmt.h: masked destinations, message templates and SMS prefixes for
 * one-time codes (codefmt.c).  No daemon state.
 */
#ifndef PWLESSD_CODEFMT_H
#define PWLESSD_CODEFMT_H

#include <stddef.h>

/* Values for {code} {host} {service} {rhost} {user} {minutes} {tty}. */
struct codefmt_vars {
	const char	*code;
	const char	*host;
	const char	*service;
	const char	*rhost;		/* "" or NULL: "this machine" */
	const char	*user;
	const char	*minutes;
	const char	*tty;
};

void	codefmt_mask_email(const char *, char *, size_t);
void	codefmt_mask_phone(const char *, char *, size_t);
void	codefmt_prefix(const char *phone, char *, size_t);
int	codefmt_prefix_allowed(const char *list, const char *phone);
int	codefmt_render(const char *tmpl, const struct codefmt_vars *,
	    char *, size_t);

#endif /* PWLESSD_CODEFMT_H */
