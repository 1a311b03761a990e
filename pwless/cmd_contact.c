/*
 * cmd_contact.c: "pwless contact show|set-email|set-phone|confirm|cancel|
 * remove" and "pwless admin contact approve".  A change proves a fresh
 * login with the session's PWLESS_TOKEN, or with an API key on stdin
 * (--key-stdin); secrets are wiped once sent.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfmt.h"
#include "util.h"
#include "pwless.h"

static const char *
change_hint(uint16_t st)
{
	switch (st) {
	case PWL_ST_NOT_PERMITTED:
		return "it needs a fresh login: run it in a session you logged "
		    "in to with pwless moments ago (PWLESS_TOKEN), or give "
		    "one of your API keys with --key-stdin";
	case PWL_ST_EXISTS:
		return "that is already your address";
	case PWL_ST_NO_FACTOR:
		return "pwlessd cannot send a code there (its transport is "
		    "off); ask an administrator";
	case PWL_ST_DENIED:
		return "that is not the code that was sent";
	case PWL_ST_EXPIRED:
		return "the change expired; start it again";
	case PWL_ST_NOT_FOUND:
		return "there is nothing of that kind to act on; see "
		    "'pwless contact show'";
	}
	return NULL;
}

/*
 * The proof of a fresh login: an API key from stdin with --key-stdin,
 * else the session's PWLESS_TOKEN.  0, or -1 after saying what to do.
 */
static int
add_proof(struct pwl_wbuf *w, int key_stdin)
{
	char secret[PWL_SECRET_MAX + 1], id[PWL_ID_LEN + 1];
	const char *tok = getenv("PWLESS_TOKEN");
	int kind;

	if (key_stdin) {
		if (cli_read_secret(PWL_KIND_KEY, secret) != 0)
			return -1;
		pwl_w_str(w, PWL_T_KEY, secret);
		explicit_bzero(secret, sizeof(secret));
		return 0;
	}
	if (tok == NULL || *tok == '\0') {
		cli_error("a contact change needs a fresh login: run it in a "
		    "session you logged in to with pwless (PWLESS_TOKEN is "
		    "not set), or give an API key: pwless contact ... "
		    "--key-stdin < KEYFILE");
		return -1;
	}
	if (pwl_secret_parse(tok, &kind, id) != 0 || kind != PWL_KIND_TOKEN) {
		cli_error("PWLESS_TOKEN does not hold a pwless token "
		    "(pwt_...); log in again, or use --key-stdin");
		return -1;
	}
	pwl_w_str(w, PWL_T_TOKEN, tok);
	return 0;
}

/* "new", "old", "admin": what is left, in words. */
static void
say_need(const char *need)
{
	if (strstr(need, "new") != NULL)
		printf("Still to confirm: the code sent to the new address.\n");
	if (strstr(need, "old") != NULL)
		printf("Still to confirm: the code sent to your current "
		    "address.\n");
	if (strstr(need, "admin") != NULL)
		printf("Your current address cannot get a code, so an "
		    "administrator must approve the change ('pwless admin "
		    "contact approve USER').\n");
}

static int
set_contact(struct cli *c, int argc, char **argv, int phone)
{
	struct cli_opt opts[] = { { "key-stdin", 0, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { phone ? "change your phone" :
	    "change your email address", NULL, NULL, 0, 0 };
	char masked[PWL_EMAIL_MAX + 1], old[PWL_EMAIL_MAX + 1], when[64];
	char need[32], *pos[1];
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	if (phone ? !cli_phone_arg(pos[0]) : !cli_email_arg(pos[0]))
		return CLI_EXIT_REFUSED;
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, phone ? PWL_T_PHONE : PWL_T_EMAIL, pos[0]);
	if (add_proof(&w, opts[0].val != NULL) != 0)
		return CLI_EXIT_REFUSED;
	r = cli_call_hint(c, &op, PWL_MSG_CONTACT_SET, &w, &rep, change_hint);
	explicit_bzero(req, sizeof(req));
	if (r != 0)
		return r;
	cli_str(&rep.msg, PWL_T_MASKED, masked, sizeof(masked));
	cli_str(&rep.msg, PWL_T_MASKED_OLD, old, sizeof(old));
	cli_fmt_time(cli_u64(&rep.msg, PWL_T_EXPIRES), "-", when,
	    sizeof(when));
	printf("A code went to %s%s%s.\nConfirm %s with 'pwless contact "
	    "confirm CODE' before %s.\n", masked, old[0] ? " and another to "
	    : "", old, old[0] ? "each" : "it", when);
	if (strstr(cli_str(&rep.msg, PWL_T_NEED, need, sizeof(need)),
	    "admin") != NULL)
		say_need(need);
	return CLI_EXIT_OK;
}

int
cmd_contact_set_email(struct cli *c, int argc, char **argv)
{
	return set_contact(c, argc, argv, 0);
}

int
cmd_contact_set_phone(struct cli *c, int argc, char **argv)
{
	return set_contact(c, argc, argv, 1);
}

/* What a CONTACT_CONFIRM or ADMIN_CONTACT_APPROVE reply means. */
static void
say_settled(const struct pwl_msg *m, const char *who)
{
	char state[32], need[32];

	if (strcmp(cli_str(m, PWL_T_STATE, state, sizeof(state)),
	    "applied") == 0) {
		printf("Done: the new contact of %s is in use; the old "
		    "address was told.\n", who);
		return;
	}
	printf("Confirmed.\n");
	say_need(cli_str(m, PWL_T_NEED, need, sizeof(need)));
}

int
cmd_contact_confirm(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "confirm the contact change", NULL, NULL, 0, 0 };
	uint8_t req[64];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	size_t n;
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	n = strlen(pos[0]);
	if (n < 6 || n > PWL_CODE_MAX || strspn(pos[0], "0123456789") != n) {
		cli_error("a code is 6 to %d digits, as in the message that "
		    "brought it", PWL_CODE_MAX);
		return CLI_EXIT_REFUSED;
	}
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_CODE, pos[0]);
	explicit_bzero(pos[0], n);
	r = cli_call_hint(c, &op, PWL_MSG_CONTACT_CONFIRM, &w, &rep,
	    change_hint);
	explicit_bzero(req, sizeof(req));
	if (r == 0)
		say_settled(&rep.msg, "your account");
	return r;
}

int
cmd_contact_cancel(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "cancel the contact change", NULL, NULL, 0, 0 };
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, NULL, NULL, &r) != 0)
		return r;
	pwl_w_init(&w, NULL, 0);
	if ((r = cli_call_hint(c, &op, PWL_MSG_CONTACT_CANCEL, &w, &rep,
	    change_hint)) == 0)
		printf("The pending contact change is cancelled.\n");
	return r;
}

int
cmd_contact_remove(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "key-stdin", 0, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "remove the contact", NULL, NULL, 0, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	int r;

	if (cli_args(c, argc, argv, opts, pos, &r) != 0)
		return r;
	if (strcmp(pos[0], "email") != 0 && strcmp(pos[0], "phone") != 0)
		return cli_usage(c, "say which: email or phone");
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_KIND, pos[0]);
	if (add_proof(&w, opts[0].val != NULL) != 0)
		return CLI_EXIT_REFUSED;
	r = cli_call_hint(c, &op, PWL_MSG_CONTACT_REMOVE, &w, &rep,
	    change_hint);
	explicit_bzero(req, sizeof(req));
	if (r == 0)
		printf("Your %s was removed; it was told so.\n",
		    strcmp(pos[0], "email") == 0 ? "email address" :
		    "phone number");
	return r;
}

static void
contact_json(const struct pwl_msg *m)
{
	struct cli_json j, p;
	struct pwl_msg it;
	int i;

	cli_json_begin(&j, stdout);
	cli_jtag(&j, "email", m, PWL_T_EMAIL);
	cli_jtag(&j, "phone", m, PWL_T_PHONE);
	fputs(", \"pending\": ", stdout);
	if (pwl_msg_get(m, PWL_T_PENDING) == NULL)
		fputs("null", stdout);
	else {
		cli_json_begin(&p, stdout);
		cli_jtag(&p, "kind", m, PWL_T_KIND);
		cli_jtag(&p, "address", m, PWL_T_PENDING);
		cli_jtag(&p, "need", m, PWL_T_NEED);
		cli_ju64(&p, "expires", cli_u64(m, PWL_T_EXPIRES));
		cli_jtag(&p, "old_code_to", m, PWL_T_MASKED_OLD);
		cli_json_end(&p);
	}
	fputs(", \"cooling_until\": {", stdout);
	for (i = 0; cli_item(m, i, &it) == 0; i++) {
		char kind[16];

		printf("%s\"%s\": %llu", i > 0 ? ", " : "",
		    strcmp(cli_str(&it, PWL_T_KIND, kind, sizeof(kind)),
		    "phone") == 0 ? "phone" : "email",
		    (unsigned long long)cli_u64(&it, PWL_T_COOLING));
	}
	fputs("}", stdout);
	cli_json_end(&j);
	putchar('\n');
}

static void
contact_text(const struct pwl_msg *m)
{
	char v[PWL_EMAIL_MAX + 1], kind[16], need[32], when[64];
	struct pwl_msg it;
	int i;

	printf("Email:   %s\n", *cli_str(m, PWL_T_EMAIL, v, sizeof(v)) ? v :
	    "-");
	printf("Phone:   %s\n", *cli_str(m, PWL_T_PHONE, v, sizeof(v)) ? v :
	    "-");
	for (i = 0; cli_item(m, i, &it) == 0; i++) {
		cli_fmt_time(cli_u64(&it, PWL_T_COOLING), "-", when,
		    sizeof(when));
		printf("Cooling: no login codes to your new %s until %s\n",
		    cli_str(&it, PWL_T_KIND, kind, sizeof(kind)), when);
	}
	if (pwl_msg_get(m, PWL_T_PENDING) == NULL)
		return;
	cli_fmt_time(cli_u64(m, PWL_T_EXPIRES), "-", when, sizeof(when));
	printf("Pending: %s -> %s, to confirm: %s, until %s\n",
	    cli_str(m, PWL_T_KIND, kind, sizeof(kind)),
	    cli_str(m, PWL_T_PENDING, v, sizeof(v)),
	    cli_str(m, PWL_T_NEED, need, sizeof(need)), when);
}

int
cmd_contact_show(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "show your contacts", NULL, NULL, 0, 0 };
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	pwl_w_init(&w, NULL, 0);
	if ((r = cli_call(c, &op, PWL_MSG_CONTACT_SHOW, &w, &rep)) != 0)
		return r;
	if (opts[0].val != NULL)
		contact_json(&rep.msg);
	else
		contact_text(&rep.msg);
	return CLI_EXIT_OK;
}

static const char *
approve_hint(uint16_t st)
{
	if (st == PWL_ST_NOT_FOUND)
		return "no contact change of theirs is pending (or they are "
		    "not enrolled); see 'pwless admin user show'";
	if (st == PWL_ST_EXPIRED)
		return "their change expired; they must start it again";
	return NULL;
}

int
cmd_admin_contact_approve(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "approve the contact change of", NULL, NULL, 1,
	    0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	if (!cli_user_arg(pos[0]))
		return CLI_EXIT_REFUSED;
	op.user = pos[0];
	pwl_w_init(&w, req, sizeof(req));
	pwl_w_str(&w, PWL_T_USER, pos[0]);
	if ((r = cli_call_hint(c, &op, PWL_MSG_ADMIN_CONTACT_APPROVE, &w,
	    &rep, approve_hint)) == 0)
		say_settled(&rep.msg, pos[0]);
	return r;
}
