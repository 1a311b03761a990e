/*
 * cmd_audit.c: "pwless audit" (your own events), "pwless admin audit"
 * (everyone's, a page at a time) and "pwless admin audit verify" (the
 * hash chain, checked by pwlessd, which alone holds its key).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "pwless.h"

/*
 * --since: a duration back from now (2h, 7d) or a local date and time
 * (2026-11-28, "2026-11-28 14:00", 2026-11-28T14:00:05).
 */
static int
since_arg(const char *s, uint64_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
	    "%Y-%m-%d" };
	struct tm tm;
	const char *end;
	uint64_t d;
	time_t t;
	size_t i;

	if (pwl_parse_duration(s, &d) == 0) {
		t = time(NULL);
		*out = d < (uint64_t)t ? (uint64_t)t - d : 1;
		return 1;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_isdst = -1;
		if ((end = strptime(s, fmts[i], &tm)) == NULL || *end != '\0')
			continue;
		if ((t = mktime(&tm)) <= 0)
			break;
		*out = (uint64_t)t;
		return 1;
	}
	cli_error("--since: '%.40s' is neither a duration back from now (2h, "
	    "7d) nor a date (2026-11-28 or \"2026-11-28 14:00\")", s);
	return 0;
}

static void
fmt_secs(uint64_t t, char *out, size_t sz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > (uint64_t)INT64_MAX / 2 || localtime_r(&tt, &tm) == NULL ||
	    strftime(out, sz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, sz, "?");
}

static void
audit_cells(const struct pwl_msg *it, cli_row row)
{
	char ev[128], m[64], svc[PWL_SERVICE_MAX + 1], rh[PWL_RHOST_MAX + 1];

	snprintf(row[0], CLI_CELL_MAX, "%llu",
	    (unsigned long long)cli_u64(it, PWL_T_AUDIT_ID));
	fmt_secs(cli_u64(it, PWL_T_TIME), row[1], CLI_CELL_MAX);
	snprintf(row[2], CLI_CELL_MAX, "%u", cli_u32(it, PWL_T_UID));
	cli_str(it, PWL_T_EVENT, ev, sizeof(ev));
	if (*cli_str(it, PWL_T_METHOD, m, sizeof(m)) != '\0')
		snprintf(row[3], CLI_CELL_MAX, "%s/%s", ev, m);
	else
		pwl_strlcpy(row[3], ev, CLI_CELL_MAX);
	if (*cli_str(it, PWL_T_USER, row[4], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[4], "-", CLI_CELL_MAX);
	if (*cli_str(it, PWL_T_RESULT, row[5], CLI_CELL_MAX) == '\0')
		pwl_strlcpy(row[5], "-", CLI_CELL_MAX);
	cli_str(it, PWL_T_SERVICE, svc, sizeof(svc));
	cli_str(it, PWL_T_RHOST, rh, sizeof(rh));
	snprintf(row[6], CLI_CELL_MAX, "%s%s%s", svc[0] ? svc : "-",
	    rh[0] ? "@" : "", rh);
	cli_str(it, PWL_T_DETAIL, row[7], CLI_CELL_MAX);
}

static void
audit_json(struct cli_json *j, const struct pwl_msg *it)
{
	cli_ju64(j, "id", cli_u64(it, PWL_T_AUDIT_ID));
	cli_ju64(j, "time", cli_u64(it, PWL_T_TIME));
	cli_jtag(j, "event", it, PWL_T_EVENT);
	cli_ju64(j, "uid", cli_u32(it, PWL_T_UID));
	cli_jtag(j, "user", it, PWL_T_USER);
	cli_jtag(j, "service", it, PWL_T_SERVICE);
	cli_jtag(j, "rhost", it, PWL_T_RHOST);
	cli_jtag(j, "method", it, PWL_T_METHOD);
	cli_jtag(j, "result", it, PWL_T_RESULT);
	cli_jtag(j, "detail", it, PWL_T_DETAIL);
}

static const char *const audit_head[] = { "ID", "TIME", "UID", "EVENT",
    "USER", "RESULT", "FROM", "DETAIL" };
#define AUDIT_NCOL	(sizeof(audit_head) / sizeof(audit_head[0]))

/* Fetches and prints every page of type for user (may be NULL). */
static int
list_pages(struct cli *c, const struct cli_op *op, uint16_t type,
    const char *user, uint64_t since, int json)
{
	char next[PWL_STR_MAX + 1] = "";
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	int count = 0, more, r;

	if (json)
		fputc('[', stdout);
	do {
		pwl_w_init(&w, buf, sizeof(buf));
		pwl_w_str(&w, PWL_T_USER, user);
		if (since > 0)
			pwl_w_u64(&w, PWL_T_SINCE, since);
		if (next[0] != '\0')
			pwl_w_str(&w, PWL_T_NEXT, next);
		if ((r = cli_call(c, op, type, &w, &rep)) != 0)
			return r;
		if (cli_items_count(&rep.msg) < 0) {
			cli_error("pwlessd sent a malformed audit page; check "
			    "that pwless and pwlessd are the same version");
			return CLI_EXIT_REFUSED;
		}
		if (json)
			cli_json_items(stdout, &rep.msg, audit_json, &count);
		else if (cli_items_count(&rep.msg) > 0) {
			cli_table_page(stdout, &rep.msg, audit_head,
			    AUDIT_NCOL, audit_cells, count == 0);
			count += cli_items_count(&rep.msg);
		}
		more = pwl_msg_str(&rep.msg, PWL_T_NEXT, next,
		    sizeof(next)) == 0;
	} while (more);
	if (json)
		fputs(count == 0 ? "]\n" : "\n]\n", stdout);
	else if (count == 0)
		printf("No events%s.\n", since > 0 ? " in that time" : "");
	return CLI_EXIT_OK;
}

int
cmd_audit(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "since", 1, NULL }, { "json", 0, NULL },
	    { NULL, 0, NULL } };
	struct cli_op op = { "read your audit trail", NULL, NULL, 0, 0 };
	uint64_t since = 0;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	if (opts[0].val != NULL && !since_arg(opts[0].val, &since))
		return CLI_EXIT_REFUSED;
	return list_pages(c, &op, PWL_MSG_AUDIT_LIST, NULL, since,
	    opts[1].val != NULL);
}

int
cmd_admin_audit(struct cli *c, int argc, char **argv)
{
	struct cli_opt opts[] = { { "user", 1, NULL }, { "since", 1, NULL },
	    { "json", 0, NULL }, { NULL, 0, NULL } };
	struct cli_op op = { "read the audit trail", NULL, NULL, 1, 0 };
	uint64_t since = 0;
	int r;

	if (cli_args(c, argc, argv, opts, NULL, &r) != 0)
		return r;
	if ((opts[0].val != NULL && !cli_user_arg(opts[0].val)) ||
	    (opts[1].val != NULL && !since_arg(opts[1].val, &since)))
		return CLI_EXIT_REFUSED;
	return list_pages(c, &op, PWL_MSG_ADMIN_AUDIT, opts[0].val, since,
	    opts[2].val != NULL);
}

int
cmd_admin_audit_verify(struct cli *c, int argc, char **argv)
{
	struct cli_op op = { "verify the audit trail", NULL, NULL, 1, 0 };
	char next[PWL_STR_MAX + 1] = "", msg[PWL_STR_MAX + 1], head[80];
	uint8_t buf[PWL_REQ_MAX];
	struct pwl_reply rep;
	struct pwl_wbuf w;
	uint64_t total = 0, broken;
	int r;

	if (cli_args(c, argc, argv, NULL, NULL, &r) != 0)
		return r;
	do {
		pwl_w_init(&w, buf, sizeof(buf));
		if (next[0] != '\0')
			pwl_w_str(&w, PWL_T_NEXT, next);
		if ((r = cli_call(c, &op, PWL_MSG_ADMIN_AUDIT_VERIFY, &w,
		    &rep)) != 0)
			return r;
		total += cli_u32(&rep.msg, PWL_T_COUNT);
		if (pwl_msg_u64(&rep.msg, PWL_T_BROKEN, &broken) == 0) {
			printf("Audit trail BROKEN at row %llu: %s\n",
			    (unsigned long long)broken, cli_str(&rep.msg,
			    PWL_T_MESSAGE, msg, sizeof(msg)));
			printf("%llu rows before it verified.\n",
			    (unsigned long long)total);
			return CLI_EXIT_REFUSED;
		}
	} while (pwl_msg_str(&rep.msg, PWL_T_NEXT, next, sizeof(next)) == 0);
	printf("Audit trail intact: %llu rows verified", (unsigned long long)
	    total);
	if (*cli_str(&rep.msg, PWL_T_HEAD, head, sizeof(head)) != '\0')
		printf("; last row %llu, hash %s", (unsigned long long)
		    cli_u64(&rep.msg, PWL_T_AUDIT_ID), head);
	printf(".\n");
	return CLI_EXIT_OK;
}
