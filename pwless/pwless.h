/*
 * pwless.h: declarations shared by the files of the pwless command line:
 * exit codes, the command table entry, option parsing, requests to
 * pwlessd, and the table and JSON printers of output.c.
 */
#ifndef PWLESS_CLI_H
#define PWLESS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "keyfmt.h"
#include "pwless/proto.h"
#include "transport.h"

/* Exit status: a contract (DESIGN 7), scripts depend on it. */
#define CLI_EXIT_OK		0	/* done */
#define CLI_EXIT_REFUSED	1	/* daemon said no, or a bad value */
#define CLI_EXIT_USAGE		2	/* unknown command or option */
#define CLI_EXIT_UNREACHABLE	3	/* no daemon to talk to */

#define CLI_PRINTF(f, a)	__attribute__((format(printf, f, a)))

struct cli;

/* One row of the command table in pwless.c. */
struct cli_cmd {
	const char	*name;		/* words after "pwless": "key create" */
	int		(*fn)(struct cli *, int, char **);
	int		 nargs;		/* positional arguments, exactly */
	const char	*args;		/* usage after the name */
	const char	*help;		/* one line for the command list */
	const char	*detail;	/* options and notes for --help */
};

/* State of one run. */
struct cli {
	const char		*socket;	/* path of pwlessd's socket */
	const struct cli_cmd	*cmd;		/* command being run */
};

/* An option a command accepts; cli_args fills in val. */
struct cli_opt {
	const char	*name;		/* long name without "--" */
	int		 has_arg;	/* 1: takes a value */
	const char	*val;		/* value, "" for a flag, or NULL */
};

/* What a request is about, so that a refusal says what failed. */
struct cli_op {
	const char	*what;		/* after "cannot": "revoke key" */
	const char	*key_id;	/* key it is about, or NULL */
	const char	*user;		/* user an admin request is about */
	int		 admin;		/* admin request */
	int		 enroll;	/* user add: NOT_FOUND = no account */
};

/* pwless.c: arguments, errors, requests. */
void	cli_error(const char *, ...) CLI_PRINTF(1, 2);
int	cli_usage(const struct cli *, const char *, ...) CLI_PRINTF(2, 3);
int	cli_args(const struct cli *, int, char **, struct cli_opt *,
	    char **pos, int *exitp);
int	cli_call(const struct cli *, const struct cli_op *, uint16_t type,
	    const struct pwl_wbuf *, struct pwl_reply *);
/* What a refusal means for one command; NULL falls back to the usual. */
typedef const char *(*cli_hint_fn)(uint16_t status);
int	cli_call_hint(const struct cli *, const struct cli_op *, uint16_t,
	    const struct pwl_wbuf *, struct pwl_reply *, cli_hint_fn);
int	cli_check_text(const char *what, const char *, size_t max);

/* cmd_key.c: self-service key commands. */
int	cmd_key_create(struct cli *, int, char **);
int	cmd_key_list(struct cli *, int, char **);
int	cmd_key_revoke(struct cli *, int, char **);
int	cmd_key_rotate(struct cli *, int, char **);
int	cli_print_keys(const struct pwl_msg *, int json, const char *empty);
/* A key or token id (kind PWL_KIND_KEY or _TOKEN) from an argument. */
int	cli_id_arg(char *arg, int kind, char id[PWL_ID_LEN + 1]);
/* --OPT DURATION; 1 when s is one (0 only with allow_zero), else says why. */
int	cli_duration_arg(const char *opt, const char *s, int allow_zero,
	    uint64_t *);
/* A comma list of PAM service names; 1 or says why. */
int	cli_services_arg(const char *);
/* Writes a key or token and a newline to fd 1, with no stdio copy. */
int	cli_print_secret(const char *);

/* cmd_token.c: session and API tokens, "pwless login". */
/* Reads a key or token (kind) from stdin; 0, or -1 after saying why. */
int	cli_read_secret(int kind, char out[PWL_SECRET_MAX + 1]);
int	cmd_login(struct cli *, int, char **);
int	cmd_token_verify(struct cli *, int, char **);
int	cmd_token_list(struct cli *, int, char **);
int	cmd_token_revoke(struct cli *, int, char **);

/* cmd_admin.c: admin commands. */
/* A user name, an email address, an E.164 number: 1, or says why. */
int	cli_user_arg(const char *);
int	cli_email_arg(const char *);
int	cli_phone_arg(const char *);
int	cmd_admin_user_add(struct cli *, int, char **);
int	cmd_admin_user_list(struct cli *, int, char **);
int	cmd_admin_user_show(struct cli *, int, char **);
int	cmd_admin_user_disable(struct cli *, int, char **);
int	cmd_admin_user_enable(struct cli *, int, char **);
int	cmd_admin_user_remove(struct cli *, int, char **);
int	cmd_admin_user_set_email(struct cli *, int, char **);
int	cmd_admin_user_set_phone(struct cli *, int, char **);
int	cmd_admin_user_unlock(struct cli *, int, char **);
int	cmd_admin_key_list(struct cli *, int, char **);
int	cmd_admin_key_revoke_all(struct cli *, int, char **);

/* cmd_contact.c: your email address and phone. */
int	cmd_contact_show(struct cli *, int, char **);
int	cmd_contact_set_email(struct cli *, int, char **);
int	cmd_contact_set_phone(struct cli *, int, char **);
int	cmd_contact_confirm(struct cli *, int, char **);
int	cmd_contact_cancel(struct cli *, int, char **);
int	cmd_contact_remove(struct cli *, int, char **);
int	cmd_admin_contact_approve(struct cli *, int, char **);

/* cmd_audit.c: the audit trail. */
int	cmd_audit(struct cli *, int, char **);
int	cmd_admin_audit(struct cli *, int, char **);
int	cmd_admin_audit_verify(struct cli *, int, char **);
/* cmd_limits.c: the per-source limits pwlessd holds. */
int	cmd_admin_limits_list(struct cli *, int, char **);
int	cmd_admin_limits_clear(struct cli *, int, char **);

/* cmd_doctor.c, cmd_authtest.c: checks for administrators. */
int	cmd_doctor(struct cli *, int, char **);
int	cmd_authtest(struct cli *, int, char **);

/* output.c: times, tables, JSON. */
#define CLI_COLS_MAX	8
#define CLI_CELL_MAX	512

typedef char cli_row[CLI_COLS_MAX][CLI_CELL_MAX];

/* "YYYY-MM-DD HH:MM" in local time; zero for a time of 0. */
void	cli_fmt_time(uint64_t, const char *zero, char *, size_t);
/* Number of ITEMs in a reply, or -1 when one of them is malformed. */
int	cli_items_count(const struct pwl_msg *);
/* Parses ITEM number i into out; 0 or -1. */
int	cli_item(const struct pwl_msg *, int, struct pwl_msg *out);
/* String of a reply, "" when absent; returns out. */
const char *cli_str(const struct pwl_msg *, uint16_t, char *, size_t);
uint64_t cli_u64(const struct pwl_msg *, uint16_t);
uint32_t cli_u32(const struct pwl_msg *, uint16_t);

/* A table: columns sized to their widest cell, every ITEM one row. */
void	cli_table(FILE *, const struct pwl_msg *, const char *const *head,
	    size_t ncol, void (*fill)(const struct pwl_msg *, cli_row));

/* JSON: an object writer and a list of ITEMs as an array of objects. */
struct cli_json {
	FILE		*f;
	int		 n;		/* fields written so far */
};

void	cli_json_str(FILE *, const char *);
void	cli_json_begin(struct cli_json *, FILE *);
void	cli_json_end(struct cli_json *);
void	cli_jstr(struct cli_json *, const char *, const char *);
/* A string tag of m, or null when m does not carry it. */
void	cli_jtag(struct cli_json *, const char *, const struct pwl_msg *,
	    uint16_t);
void	cli_ju64(struct cli_json *, const char *, uint64_t);
void	cli_jbool(struct cli_json *, const char *, int);
void	cli_json_list(FILE *, const struct pwl_msg *,
	    void (*obj)(struct cli_json *, const struct pwl_msg *));
void	cli_json_items(FILE *, const struct pwl_msg *,
	    void (*obj)(struct cli_json *, const struct pwl_msg *), int *);
void	cli_table_page(FILE *, const struct pwl_msg *, const char *const *,
	    size_t, void (*fill)(const struct pwl_msg *, cli_row), int first);

#endif /* PWLESS_CLI_H */
