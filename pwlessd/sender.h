/*
 * sender.h: pwlessd-sender, the child that delivers outbox messages.  It
 * reads SEND frames on fd 3, delivers by SMTP (send_mail.c), HTTP SMS
 * (send_sms.c) or a spool directory (send_file.c), and reports each
 * outcome back.  The only code that links libcurl; it never opens the
 * database and never sees the master key.
 */
#ifndef PWLESSD_SENDER_H
#define PWLESSD_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "conf.h"
#include "pwless/proto.h"

/* One message from pwlessd (PWL_MSG_SEND). */
struct send_msg {
	uint32_t	req_id;
	uint64_t	id;		/* outbox row */
	int		channel;	/* PWL_CH_EMAIL or PWL_CH_SMS */
	char		dest[PWL_EMAIL_MAX + 1];
	char		subject[PWL_STR_MAX + 1];
	char		body[PWL_BODY_MAX + 1];
	char		code[PWL_CODE_MAX + 1];
	char		msgid[PWL_MSGID_MAX + 1];
};

/* Outcome of a delivery: PWL_ST_OK, _UNAVAILABLE (retry) or permanent. */
struct outcome {
	uint16_t	status;
	char		why[PWL_STR_MAX + 1];
};

/* One delivery in flight on the curl multi handle. */
struct job {
	struct send_msg		 m;
	CURL			*h;
	struct curl_slist	*list;		/* recipients or headers */
	char			*data;		/* mail to upload, HTTP body */
	size_t			 len;
	size_t			 off;
	char			 resp[2048];	/* HTTP reply body */
	size_t			 resplen;
	char			 secret[512];	/* password or user:secret */
	char			 errbuf[CURL_ERROR_SIZE];
	struct job		*next;
};

/* sender.c */
void	outcome_set(struct outcome *, uint16_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	read_secret_file(const char *path, char *out, size_t sz,
	    struct outcome *);
void	curl_common(struct job *, const struct config *, const char *ca);

/* send_mail.c */
int	mail_compose(const struct config *, const struct send_msg *,
	    char **out, size_t *len);
int	mail_setup(struct job *, const struct config *, struct outcome *);
void	mail_outcome(struct job *, CURLcode, struct outcome *);

/* send_sms.c */
int	sms_setup(struct job *, const struct config *, struct outcome *);
void	sms_outcome(struct job *, const struct config *, CURLcode,
	    struct outcome *);

/* send_file.c */
void	spool_deliver(const struct config *, const struct send_msg *,
	    struct outcome *);

#endif /* PWLESSD_SENDER_H */
