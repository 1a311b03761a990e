/*
 * log.h: pwlessd's log, one line per event with stable key=value fields
 * (event, user, service, rhost, method, result, ...).  Never a secret.
 */
#ifndef PWLESSD_LOG_H
#define PWLESSD_LOG_H

#include <stddef.h>
#include <syslog.h>

/* foreground: lines go to stderr; else syslog(LOG_AUTHPRIV). */
void	log_init(int foreground, int debug);

/* Free-form message: "what failed and what to do". */
void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * An event: name/value pairs ended by NULL.  NULL or empty values are
 * left out; values with spaces, quotes or '=' are quoted.
 */
void	log_event(int prio, const char *event, ...)
	    __attribute__((sentinel));

int	log_debug_enabled(void);

/* Appends " k=v" to out (as in an event line); returns the new length. */
size_t	log_kv_append(char *out, size_t sz, size_t off, const char *k,
	    const char *v);
/* An event line from n name/value pairs kv[2i], kv[2i + 1] (audit.c). */
size_t	log_event_format(char *out, size_t sz, const char *event,
	    const char *const *kv, size_t n);
void	log_line(int prio, const char *line);
/*
 * While on, NOTICE, INFO and DEBUG lines are dropped: sources.c turns it
 * on for a refusal it already reported (a flood must not flood the log),
 * dispatch turns it off before each request.
 */
void	log_quiet(int);

#endif /* PWLESSD_LOG_H */
