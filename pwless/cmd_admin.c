/*
 * cmd_admin.c: the admin commands, "pwless admin user ..." and "pwless
 * admin key ...".  pwlessd decides who may run them (root or admin_group);
 * here we only check values before sending and print the answers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "pwless.h"

/* A user name: printable, no spaces or colons, not an option. */
int
cli_user_arg(const char *s)
{
	if (!cli_check_text("the user name", s, PWL_USER_MAX))
		return 0;
	if (strpbrk(s, " :/") != NULL || s[0] == '-') {
		cli_error("'%s' is not a user name (no spaces, ':' or '/', "
		    "no leading '-'); give a login name as in /etc/passwd", s);
		return 0;
	}
	return 1;
}

/* The same checks as pwlessd's (lib/util.c), before anything is sent. */
int
cli_email_arg(const char *s)
{
	size_t n = strlen(s);

	if (n > PWL_EMAIL_MAX || !pwl_printable(s, n) ||
	    !pwl_valid_email(s)) {
		cli_error("that is not an email address: write it as "
		    "name@example.org (one @, a dot in the domain, no spaces, "
		    "quotes or < >, at most %d bytes)", PWL_EMAIL_MAX);
		return 0;
	}
	return 1;
}

int
cli_phone_arg(const char *s)
{
	if (strlen(s) > PWL_PHONE_MAX || !pwl_valid_phone(s)) {
		cli_error("that is not a phone number in E.164 form: write "
		    "'+', the country code and the number, digits only, "
		    "e.g. +41791234567 (at most %d digits)", PWL_PHONE_MAX - 1);
		return 0;
	}
	return 1;
}

int
cmd_admin_user_add(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "email", 1, NULL }, { "phone", 1, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "enroll user", NULL, NULL, 1, 1 };
	const char *email, *phone;
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	email = opts[0].val;
	phone = opts[1].val;
	if (!cli_user_arg(pos[0]) || (email != NULL && !cli_email_arg(email)) ||
	    (phone != NULL && !cli_phone_arg(phone)))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	pwl_w_str(&w, PWL_T_EMAIL, email);
	pwl_w_str(&w, PWL_T_PHONE, phone);
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_USER_ADD, &w, &rep)) == 0)
		printf("User %s enrolled. Next, as %s: pwless key create\n",
		    pos[0], pos[0]);
	return r;
}

/*
 * The commands that send USER (and maybe one field) and print one line:
 * disable, enable, remove, unlock, set-email, set-phone.
 */
struct user_req {
	uint16_t	 type;
	const char	*what;		/* for errors: "disable user" */
	int		 disabled;	/* DISABLED to send, or -1 */
	uint16_t	 tag;		/* second argument's tag, or 0 */
	int		(*check)(const char *);	/* checks it */
	const char	*done;		/* "User alice <done>." */
};

static int
user_request(struct cli *c, int argc, char **argv, const struct user_req *u)
{
	struct cli_op op = { u->what, NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[2] = { NULL, NULL };
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	if (!cli_user_arg(pos[0]) || (u->check != NULL && !u->check(pos[1])))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	if (u->disabled >= 0)
		pwl_w_u8(&w, PWL_T_DISABLED, (uint8_t)u->disabled);
	if (u->tag != 0)
		pwl_w_str(&w, u->tag, pos[1]);
	if ((r = cli_call(c, &op, u->type, &w, &rep)) == 0)
		printf("User %s %s%s.\n", pos[0], u->done,
		    u->tag != 0 ? pos[1] : "");
	return r;
}

int
cmd_admin_user_disable(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_USER_SET,
	    "disable user", 1, 0, NULL,
	    "disabled: pwless refuses their logins until enabled again" };

	return user_request(c, argc, argv, &u);
}

int
cmd_admin_user_enable(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_USER_SET,
	    "enable user", 0, 0, NULL, "enabled" };

	return user_request(c, argc, argv, &u);
}

int
cmd_admin_user_remove(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_USER_REMOVE,
	    "remove user", -1, 0, NULL, "removed, with all of their keys" };

	return user_request(c, argc, argv, &u);
}

int
cmd_admin_user_unlock(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_UNLOCK,
	    "unlock user", -1, 0, NULL,
	    "unlocked: failure count and lockout cleared" };

	return user_request(c, argc, argv, &u);
}

int
cmd_admin_user_set_email(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_USER_SET,
	    "set the email of user", -1, PWL_T_EMAIL, cli_email_arg,
	    "now gets codes by email at " };

	return user_request(c, argc, argv, &u);
}

int
cmd_admin_user_set_phone(struct cli *c, int argc, char **argv)
{
	static const struct user_req u = { PWL_MSG_ADMIN_USER_SET,
	    "set the phone of user", -1, PWL_T_PHONE, cli_phone_arg,
	    "now gets codes by SMS at " };

	return user_request(c, argc, argv, &u);
}

static void
user_cells(const struct pwl_msg *it, cli_row row)
{
	uint8_t dis = 0;
	uint64_t locked = cli_u64(it, PWL_T_LOCKED_UNTIL);

	(void)pwl_msg_u8(it, PWL_T_DISABLED, &dis);
	cli_str(it, PWL_T_USER, row[0], CLI_CELL_MAX);
	pwl_strlcpy(row[1], dis ? "disabled" : "enabled", CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_CREATED), "-", row[2], CLI_CELL_MAX);
	snprintf(row[3], CLI_CELL_MAX, "%u", cli_u32(it, PWL_T_COUNT));
	if (*cli_str(it, PWL_T_EMAIL, row[4], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[4], "-", CLI_CELL_MAX);
	if (*cli_str(it, PWL_T_PHONE, row[5], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[5], "-", CLI_CELL_MAX);
	snprintf(row[6], CLI_CELL_MAX, "%u", cli_u32(it, PWL_T_FAILURES));
	if (locked <= (uint64_t)time(NULL))
		locked = 0;
	cli_fmt_time(locked, "-", row[7], CLI_CELL_MAX);
}

static void
user_json(struct cli_json *j, const struct pwl_msg *it)
{
	uint8_t dis = 0;

	(void)pwl_msg_u8(it, PWL_T_DISABLED, &dis);
	cli_jtag(j, "user", it, PWL_T_USER);
	cli_jbool(j, "disabled", dis != 0);
	cli_ju64(j, "created", cli_u64(it, PWL_T_CREATED));
	cli_ju64(j, "keys", cli_u32(it, PWL_T_COUNT));
	cli_jtag(j, "email", it, PWL_T_EMAIL);
	cli_jtag(j, "phone", it, PWL_T_PHONE);
	cli_ju64(j, "failures", cli_u32(it, PWL_T_FAILURES));
	cli_ju64(j, "locked_until", cli_u64(it, PWL_T_LOCKED_UNTIL));
}

static const char *const user_head[] = { "USER", "STATE", "ENROLLED",
    "KEYS", "EMAIL", "PHONE", "FAILURES", "LOCKED UNTIL" };
#define USER_NCOL	(sizeof(user_head) / sizeof(user_head[0]))

/* Prints one page; 1 when another page follows (its cursor in next). */
static int
user_page(const struct pwl_reply *rep, int json, int *count,
    char next[PWL_STR_MAX + 1])
{
	int first = *count == 0;

	if (json)
		cli_json_items(stdout, &rep->msg, user_json, count);
	else if (cli_items_count(&rep->msg) > 0) {
		cli_table_page(stdout, &rep->msg, user_head, USER_NCOL,
		    user_cells, first);
		*count += cli_items_count(&rep->msg);
	}
	return pwl_msg_str(&rep->msg, PWL_T_NEXT, next, PWL_STR_MAX + 1) == 0;
}

int
cmd_admin_user_list(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "list users", NULL, NULL, 1, 0 };
	char next[PWL_STR_MAX + 1] = "";
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int count = 0, json, more, r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	json = opts[0].val != NULL;
	if (json)
		fputc('[', stdout);
	do {
		pwl_w_init(&w, buf, sizeof(buf));
		if (next[0] != '\0')
			pwl_w_str(&w, PWL_T_NEXT, next);
		if ((r = cli_call(c, &op, PWL_MSG_ADMIN_USER_LIST, &w,
		    &rep)) != 0)
			return r;
		if (cli_items_count(&rep.msg) < 0) {
			cli_error("pwlessd sent a malformed user list; check "
			    "that pwless and pwlessd are the same version");
			return CLI_EXIT_REFUSED;
		}
		more = user_page(&rep, json, &count, next);
	} while (more);
	if (json)
		fputs(count == 0 ? "]\n" : "\n]\n", stdout);
	else if (count == 0)
		printf("No users enrolled. Add one with "
		    "'pwless admin user add USER'.\n");
	return CLI_EXIT_OK;
}

/* One user as "Field: value" lines, the same cells as a list row. */
static void
print_user(const struct pwl_msg *m)
{
	cli_row row;
	size_t i;

	user_cells(m, row);
	for (i = 0; i < USER_NCOL; i++)
		printf("%-13s %s\n", user_head[i], row[i]);
}

int
cmd_admin_user_show(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "show user", NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct cli_json j;
	struct pwl_wbuf w;
	char *pos[1];
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	if (!cli_user_arg(pos[0]))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_USER_SHOW, &w, &rep)) != 0)
		return r;
	if (opts[0].val != NULL) {
		cli_json_begin(&j, stdout);
		user_json(&j, &rep.msg);
		cli_json_end(&j);
		putchar('\n');
	} else
		print_user(&rep.msg);
	return CLI_EXIT_OK;
}

int
cmd_admin_key_list(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "list the keys of user", NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	char empty[PWL_USER_MAX + 64], *pos[1];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	if (!cli_user_arg(pos[0]))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_KEY_LIST, &w, &rep)) != 0)
		return r;
	snprintf(empty, sizeof(empty), "User %s has no keys.", pos[0]);
	return cli_print_keys(&rep.msg, opts[0].val != NULL, empty);
}

int
cmd_admin_key_revoke_all(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "revoke the keys of user", NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	uint32_t n;
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	if (!cli_user_arg(pos[0]))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_KEY_REVOKE_ALL, &w,
	    &rep)) != 0)
		return r;
	n = cli_u32(&rep.msg, PWL_T_COUNT);
	printf("Revoked %u key%s of user %s.\n", n, n == 1 ? "" : "s",
	    pos[0]);
	return CLI_EXIT_OK;
}
