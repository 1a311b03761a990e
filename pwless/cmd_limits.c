/*
 * cmd_limits.c: "pwless admin limits list|clear": the per-source limits
 * pwlessd holds in memory (remote hosts, uids, remote users, terminals
 * with recent failures or codes asked for), and forgetting one of them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "pwless.h"

static const char *const limits_head[] = { "SOURCE", "FAILURES",
    "LAST FAILURE", "LOCKED UNTIL", "CODES/HOUR" };
#define LIMITS_NCOL	(sizeof(limits_head) / sizeof(limits_head[0]))

/* "rhost:192.0.2.7", "uid:1001"... from KIND and its value tag. */
static void
source_cell(const struct pwl_msg *it, char *out, size_t sz)
{
	char kind[32], val[PWL_STR_MAX + 1];

	cli_str(it, PWL_T_KIND, kind, sizeof(kind));
	if (strcmp(kind, "uid") == 0)
		snprintf(val, sizeof(val), "%u", cli_u32(it, PWL_T_UID));
	else
		cli_str(it, strcmp(kind, "rhost") == 0 ? PWL_T_RHOST :
		    strcmp(kind, "ruser") == 0 ? PWL_T_RUSER : PWL_T_TTY,
		    val, sizeof(val));
	snprintf(out, sz, "%s:%s", kind, val);
}

static void
limits_cells(const struct pwl_msg *it, cli_row row)
{
	source_cell(it, row[0], CLI_CELL_MAX);
	snprintf(row[1], CLI_CELL_MAX, "%u", cli_u32(it, PWL_T_FAILURES));
	cli_fmt_time(cli_u64(it, PWL_T_TIME), "-", row[2], CLI_CELL_MAX);
	cli_fmt_time(cli_u64(it, PWL_T_LOCKED_UNTIL), "-", row[3],
	    CLI_CELL_MAX);
	snprintf(row[4], CLI_CELL_MAX, "%u", cli_u32(it, PWL_T_COUNT));
}

static void
limits_json(struct cli_json *j, const struct pwl_msg *it)
{
	char src[CLI_CELL_MAX];

	source_cell(it, src, sizeof(src));
	cli_jstr(j, "source", src);
	cli_ju64(j, "failures", cli_u32(it, PWL_T_FAILURES));
	cli_ju64(j, "last_failure", cli_u64(it, PWL_T_TIME));
	cli_ju64(j, "locked_until", cli_u64(it, PWL_T_LOCKED_UNTIL));
	cli_ju64(j, "codes_this_hour", cli_u32(it, PWL_T_COUNT));
}

int
cmd_admin_limits_list(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "list the per-source limits", NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int n, r;
	uint32_t total;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	pwl_w_init(&w, req, sizeof(req));
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_LIMITS, &w, &rep)) != 0)
		return r;
	if ((n = cli_items_count(&rep.msg)) < 0) {
		cli_error("pwlessd sent a malformed list; check that pwless "
		    "and pwlessd are the same version");
		return CLI_EXIT_REFUSED;
	}
	total = cli_u32(&rep.msg, PWL_T_COUNT);
	if (opts[0].val != NULL)
		cli_json_list(stdout, &rep.msg, limits_json);
	else if (n == 0)
		printf("No source has failed or asked for codes lately.\n");
	else
		cli_table(stdout, &rep.msg, limits_head, LIMITS_NCOL,
		    limits_cells);
	if (opts[0].val == NULL && total > (uint32_t)n)
		printf("(%u more not shown)\n", total - (uint32_t)n);
	return CLI_EXIT_OK;
}

/* KIND:VALUE into the request; 1, or 0 after saying what is wrong. */
static int
put_source(struct pwl_wbuf *w, const char *arg)
{
	const char *colon = strchr(arg, ':'), *v;
	uint64_t uid;
	size_t kl;

	if (colon == NULL || colon[1] == '\0')
		goto bad;
	kl = (size_t)(colon - arg);
	v = colon + 1;
	if (!cli_check_text("the source", v, PWL_RHOST_MAX))
		return 0;
	if (kl == 3 && strncmp(arg, "uid", 3) == 0) {
		if (pwl_parse_uint(v, UINT32_MAX - 1, &uid) != 0)
			goto bad;
		pwl_w_str(w, PWL_T_KIND, "uid");
		pwl_w_u32(w, PWL_T_UID, (uint32_t)uid);
		return 1;
	}
	if (kl == 5 && strncmp(arg, "rhost", 5) == 0)
		pwl_w_str(w, PWL_T_RHOST, v);
	else if (kl == 5 && strncmp(arg, "ruser", 5) == 0)
		pwl_w_str(w, PWL_T_RUSER, v);
	else if (kl == 3 && strncmp(arg, "tty", 3) == 0 &&
	    strlen(v) <= PWL_TTY_MAX)
		pwl_w_str(w, PWL_T_TTY, v);
	else
		goto bad;
	pwl_w_bytes(w, PWL_T_KIND, arg, kl);
	return 1;
 bad:
	cli_error("'%s' names no source: write rhost:HOST, uid:N, "
	    "ruser:USER or tty:TTY as 'pwless admin limits list' shows them, "
	    "or 'all'", arg);
	return 0;
}

int
cmd_admin_limits_clear(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "clear the limits", NULL, NULL, 1, 0 };
	uint8_t req[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	char *pos[1];
	uint32_t n;
	int r;

	if (cli_args(c, argc, argv, NULL, pos, &r) != 0)
		return r;
	pwl_w_init(&w, req, sizeof(req));
	if (strcmp(pos[0], "all") != 0 && !put_source(&w, pos[0]))
		return CLI_EXIT_REFUSED;
	if ((r = cli_call(c, &op, PWL_MSG_ADMIN_LIMITS_CLEAR, &w, &rep)) != 0)
		return r;
	n = cli_u32(&rep.msg, PWL_T_COUNT);
	if (strcmp(pos[0], "all") == 0)
		printf("Forgot the limits of %u source%s.\n", n,
		    n == 1 ? "" : "s");
	else if (n == 0)
		printf("%s had no failures or codes on record.\n", pos[0]);
	else
		printf("Forgot the limits of %s.\n", pos[0]);
	return CLI_EXIT_OK;
}
