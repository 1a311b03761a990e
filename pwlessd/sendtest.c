/*
 * sendtest.c: 'pwless doctor --send-test': an admin queues a test message
 * (no secret in it) through the configured email or SMS transport, then
 * asks how its delivery went.  It takes the outbox path of a login code,
 * so a success here means codes will arrive.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "outbox_int.h"
#include "pwlessd.h"
#include "store.h"
#include "util.h"

#define TEST_LIFE	600	/* a test message not sent in 10 min is dropped */

static int
channel_ready(struct req *r, int ch)
{
	int tr = ch == PWL_CH_SMS ? r->d->cfg.sms_transport :
	    r->d->cfg.email_transport;

	if (tr != TR_NONE && r->d->outbox != NULL)
		return 1;
	req_message(r, "no %s transport is configured: set [%s] transport "
	    "in pwlessd.conf", ch == PWL_CH_SMS ? "SMS" : "email",
	    ch == PWL_CH_SMS ? "sms" : "email");
	return 0;
}

/* The destination of the request: exactly one of EMAIL and PHONE. */
static uint16_t
read_dest(struct req *r, int *ch, char *dest, size_t sz)
{
	char email[PWL_EMAIL_MAX + 1], phone[PWL_PHONE_MAX + 1];

	if (req_str(r, PWL_T_EMAIL, email, sizeof(email), 0) != 0 ||
	    req_str(r, PWL_T_PHONE, phone, sizeof(phone), 0) != 0)
		return PWL_ST_BAD_REQUEST;
	if ((email[0] == '\0') == (phone[0] == '\0')) {
		req_message(r, "name one email address or one phone number");
		return PWL_ST_BAD_REQUEST;
	}
	if (email[0] != '\0' && !pwl_valid_email(email)) {
		req_message(r, "'%s' is not a usable email address", email);
		return PWL_ST_BAD_REQUEST;
	}
	if (phone[0] != '\0' && !pwl_valid_phone(phone)) {
		req_message(r, "'%s' is not a phone number in E.164 form",
		    phone);
		return PWL_ST_BAD_REQUEST;
	}
	*ch = email[0] != '\0' ? PWL_CH_EMAIL : PWL_CH_SMS;
	pwl_strlcpy(dest, email[0] != '\0' ? email : phone, sz);
	return channel_ready(r, *ch) ? PWL_ST_OK : PWL_ST_NOT_PERMITTED;
}

uint16_t
h_admin_send_test(struct req *r, struct pwl_wbuf *w)
{
	char dest[PWL_EMAIL_MAX + 1], body[512], id[24];
	struct outbox_text t;
	int64_t row = 0;
	uint16_t st;
	int ch, sr;

	if ((st = read_dest(r, &ch, dest, sizeof(dest))) != PWL_ST_OK)
		return st;
	snprintf(body, sizeof(body), "This is a test message from pwlessd on "
	    "%s, sent by 'pwless doctor --send-test'. Login codes will "
	    "arrive the same way.\n", r->d->outbox->host);
	memset(&t, 0, sizeof(t));
	t.user = r->caller[0] != '\0' ? r->caller : "root";
	t.channel = ch;
	t.dest = dest;
	t.subject = "pwless test message";
	t.body = body;
	t.expires = r->now + TEST_LIFE;
	if ((sr = outbox_queue_text(r, &t, &row)) != STORE_OK)
		return status_from_store(r, sr);
	pwl_w_u64(w, PWL_T_OUTBOX_ID, (uint64_t)row);
	snprintf(id, sizeof(id), "%lld", (long long)row);
	audit_event(r, LOG_NOTICE, "send_test", "by", r->caller, "channel",
	    ch == PWL_CH_SMS ? "sms" : "email", "outbox", id, "result", "ok",
	    NULL);
	return PWL_ST_OK;
}

uint16_t
h_admin_outbox_state(struct req *r, struct pwl_wbuf *w)
{
	char state[16], err[PWL_STR_MAX + 1];
	uint64_t id;
	uint32_t tries;
	int sr;

	if (pwl_msg_u64(r->msg, PWL_T_OUTBOX_ID, &id) != 0 ||
	    id > INT64_MAX) {
		req_message(r, "request lacks a valid outbox_id");
		return PWL_ST_BAD_REQUEST;
	}
	sr = store_outbox_state(r->d->st, (int64_t)id, state, &tries, err);
	if (sr != STORE_OK)
		return status_from_store(r, sr);
	pwl_w_str(w, PWL_T_STATE, state);
	pwl_w_u32(w, PWL_T_COUNT, tries);
	if (err[0] != '\0' && pwl_printable(err, strlen(err)))
		pwl_w_str(w, PWL_T_LAST_ERROR, err);
	return PWL_ST_OK;
}
