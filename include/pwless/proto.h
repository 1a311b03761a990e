/*
 * proto.h: the pwless wire protocol, the single source for the PAM module,
 * the CLI, libpwless and pwlessd.  Frames, message types, tags, status
 * codes and limits live here; lib/proto.c implements the codec.
 */
#ifndef PWLESS_PROTO_H
#define PWLESS_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Frame: 12-byte header, big-endian, then the body.
 *   body_len u32 | major u8 | minor u8 | type u16 | req_id u32
 * A response carries the request's type and req_id and its body starts
 * with a u16 status.  A major mismatch is answered with PWL_ST_VERSION.
 */
#define PWL_PROTO_MAJOR		1
#define PWL_PROTO_MINOR		0
#define PWL_HDR_LEN		12
#define PWL_REQ_MAX		4096	/* request body bytes */
#define PWL_RESP_MAX		16384	/* response body bytes */

/* Default socket; pwlessd.conf [daemon] socket and socket= override it. */
#define PWL_DEFAULT_SOCKET	"/run/pwless/pwlessd.sock"

/*
 * Message catalogue.  "?" marks optional tags.  Every response starts with
 * a status; any failure may carry MESSAGE, a sentence for the user.
 *
 * HELLO            req: -                      resp: VERSION
 * AUTH_KEY         req: USER SERVICE RHOST? TTY? RUSER? KEY WANT_TOKEN?
 *                  resp: TOKEN? EXPIRES?
 *                  DENIED for a wrong, revoked, expired or out-of-scope
 *                  key and for a disabled user; UNKNOWN_USER only when the
 *                  user is not enrolled (the module maps it to AUTH_ERR).
 * ACCT_CHECK       req: USER                   resp: -
 *                  OK, UNKNOWN_USER or DISABLED.
 * CODE_START       req: USER SERVICE RHOST? TTY? CHANNEL?
 *                  resp: CHALLENGE TTL MASKED?
 *                  Unknown users and users without a contact get a
 *                  look-alike OK (nothing is sent), so answers and timing
 *                  do not tell whether an account exists.
 * CODE_ANSWER      req: USER SERVICE RHOST? CHALLENGE CODE WANT_TOKEN?
 *                  resp: TOKEN? EXPIRES?  (DENIED with ATTEMPTS_LEFT)
 * TOKEN_VERIFY     req: USER? SERVICE? RHOST? TOKEN
 *                  resp: USER EXPIRES KEY_ID KIND SERVICES?
 *                  DENIED for an unknown, revoked or out-of-scope token
 *                  (another user, a service not in its set, another
 *                  rhost); EXPIRED past its lifetime.  Callers other than
 *                  root, trusted_uids and [tokens] verify_group may check
 *                  only their own tokens (NOT_PERMITTED for a USER that
 *                  is not theirs, DENIED for another user's token).
 * SESSION_CLOSE    req: TOKEN                  resp: -  (NOT_FOUND)
 *                  Revokes a login's token at logout; the caller must be
 *                  allowed to authenticate the token's user.
 * TOKEN_ISSUE      req: KEY LIFETIME? SERVICES?
 *                  resp: TOKEN KEY_ID EXPIRES SERVICES?
 *                  The key must be the caller's own (DENIED otherwise).
 * TOKEN_LIST       req: -      resp: ITEM* { KEY_ID KIND CREATED EXPIRES
 *                  SERVICES? SERVICE? RHOST? TTY? }  (live tokens only)
 * TOKEN_REVOKE     req: KEY_ID                 resp: -  (NOT_FOUND)
 * KEY_CREATE       req: LABEL? LIFETIME? SERVICES?
 *                  resp: KEY KEY_ID EXPIRES
 * KEY_LIST         req: -      resp: ITEM* { KEY_ID LABEL? STATE CREATED
 *                  EXPIRES LAST_USED LAST_SERVICE? LAST_RHOST? SERVICES? }
 *                  STATE is active, expired, revoked or rotated (in grace).
 * KEY_REVOKE       req: KEY_ID                 resp: -  (NOT_FOUND)
 * KEY_ROTATE       req: KEY_ID GRACE?          resp: KEY KEY_ID EXPIRES
 *                  and ITEM { KEY_ID EXPIRES } for the old key.
 * ADMIN_USER_ADD   req: USER EMAIL? PHONE?     resp: -  (EXISTS, NOT_FOUND
 *                  when no such system account)
 * ADMIN_USER_LIST  req: NEXT?  resp: ITEM* { USER DISABLED CREATED COUNT
 *                  EMAIL? PHONE? FAILURES LOCKED_UNTIL } NEXT?
 *                  At most 100 users a page; NEXT, when present, goes in
 *                  the request for the following page.
 * ADMIN_USER_SHOW  req: USER   resp: the same fields, top level
 * ADMIN_USER_SET   req: USER DISABLED? EMAIL? PHONE?   resp: -
 * ADMIN_USER_REMOVE req: USER                  resp: - (keys go with it)
 * ADMIN_KEY_LIST   req: USER                   resp: as KEY_LIST
 * ADMIN_KEY_REVOKE_ALL req: USER               resp: COUNT
 * ADMIN_UNLOCK     req: USER                   resp: -  (NOT_FOUND)
 *                  Clears the failure count and any delay or lockout.
 * ADMIN_LIMITS     req: -      resp: ITEM* { KIND RHOST|UID|RUSER|TTY
 *                  FAILURES LOCKED_UNTIL TIME COUNT } COUNT
 *                  The per-source entries pwlessd holds in memory: KIND
 *                  is rhost, uid, ruser or tty; FAILURES the failures
 *                  not yet forgiven, TIME the last one, COUNT in an ITEM
 *                  the codes asked this hour; the top-level COUNT says
 *                  how many entries there are (more than fit).
 * ADMIN_LIMITS_CLEAR req: KIND? RHOST|UID|RUSER|TTY?   resp: COUNT
 *                  Forgets one source, or all when KIND is absent.
 *
 * Contacts (self-service).  A change needs a fresh login: TOKEN, one of
 * the caller's live tokens made within [contacts] fresh_login, or KEY,
 * one of their keys (NOT_PERMITTED otherwise).  A code goes to the new
 * address and, when the account has one, another to the old address
 * (the same kind, else the other kind); the change applies when both are
 * confirmed, then the old address gets a notice.  One pending change a
 * user; a new one replaces it.
 * CONTACT_SHOW     req: -    resp: EMAIL? PHONE? ITEM* { KIND COOLING }
 *                  and, for a pending change, KIND PENDING NEED EXPIRES
 *                  MASKED_OLD?.  NEED lists what is still to confirm:
 *                  "new", "old" or "new,old"; "admin" when the old
 *                  address cannot get a code and only an admin can
 *                  approve.  COOLING: login codes to that address
 *                  resume then ([contacts] cooling_off).
 * CONTACT_SET      req: EMAIL|PHONE TOKEN|KEY
 *                  resp: MASKED MASKED_OLD? NEED EXPIRES
 *                  EXISTS when it is the address already on file;
 *                  NO_FACTOR when its transport is off; RATE_LIMITED by
 *                  the send limits of codes.
 * CONTACT_CONFIRM  req: CODE   resp: NEED STATE ("pending", "applied")
 *                  A code of either side; DENIED with ATTEMPTS_LEFT
 *                  ([codes] max_attempts wrong codes burn the change);
 *                  EXPIRED; NOT_FOUND when nothing is pending.
 * CONTACT_CANCEL   req: -      resp: -  (NOT_FOUND)
 * CONTACT_REMOVE   req: KIND ("email" or "phone") TOKEN|KEY   resp: -
 *                  (NOT_FOUND when not set); the address gets a notice.
 *
 * Audit trail.  Rows are listed oldest first, a page at a time: NEXT,
 * when present, goes in the next request.  An ITEM is { AUDIT_ID TIME
 * EVENT UID USER? SERVICE? RHOST? METHOD? RESULT? DETAIL? }.
 * AUDIT_LIST       req: SINCE? NEXT?           resp: ITEM* NEXT?
 *                  The caller's own rows (USER = the caller) only.
 * ADMIN_AUDIT      req: USER? SINCE? NEXT?     resp: ITEM* NEXT?
 * ADMIN_AUDIT_VERIFY req: NEXT?
 *                  resp: COUNT (rows checked) NEXT? | BROKEN MESSAGE,
 *                  and HEAD AUDIT_ID (the last row checked) at the end.
 *                  Checks up to 20000 rows a request; BROKEN names the
 *                  first row whose hash, predecessor or id is wrong.
 * ADMIN_CONTACT_APPROVE req: USER   resp: NEED STATE
 *                  Waives the old address's code of USER's pending
 *                  change (they lost it); the new address must still be
 *                  confirmed.  NOT_FOUND when nothing is pending.
 *
 * CODE_START in full: resp CHALLENGE TTL MASKED CODE_LEN; RATE_LIMITED
 * with RETRY_AFTER and MESSAGE when a send limit or the account's
 * failure budget refuses it.  CODE_ANSWER: OK; DENIED with ATTEMPTS_LEFT
 * (wrong code, burnt, used, another caller's challenge); EXPIRED;
 * RATE_LIMITED with RETRY_AFTER and MESSAGE (delay or lockout).
 *
 * SEND (internal, never accepted on the socket): pwlessd to its sender
 * child over a socketpair, one frame per datagram, bodies up to
 * PWL_RESP_MAX.  req: OUTBOX_ID CHANNEL EMAIL|PHONE SUBJECT? BODY CODE
 * MSGID; resp (same type and req_id): OUTBOX_ID, status OK (delivered),
 * UNAVAILABLE (try again later) or NOT_PERMITTED (will never work),
 * MESSAGE saying why.
 *
 * ADMIN_SEND_TEST  req: EMAIL | PHONE        resp: OUTBOX_ID MSGID
 *                  Queues a test message (no secret) through the
 *                  configured transport: 'pwless doctor --send-test'.
 * ADMIN_OUTBOX_STATE req: OUTBOX_ID           resp: STATE COUNT LAST_ERROR?
 *                  STATE is queued, sent, dead or dropped; COUNT the tries.
 *
 * Self-service messages (KEY_*, CONTACT_*, TOKEN_ISSUE/LIST/REVOKE) carry
 * no user: the subject is the caller's uid from SO_PEERCRED.
 */

/* Message types.  High byte = family. */
enum pwl_type {
	PWL_MSG_HELLO		= 0x0001, /* any: version and limits */

	/* auth family: callers allowed by the trust rule (DESIGN 4) */
	PWL_MSG_AUTH_KEY	= 0x0101, /* user, service, rhost?, tty?, KEY */
	PWL_MSG_CODE_START	= 0x0102, /* user, service, rhost?, channel? */
	PWL_MSG_CODE_ANSWER	= 0x0103, /* user, challenge, CODE */
	PWL_MSG_TOKEN_VERIFY	= 0x0104, /* user?, service?, TOKEN */
	PWL_MSG_ACCT_CHECK	= 0x0105, /* user: enrolled and enabled? */
	PWL_MSG_SESSION_CLOSE	= 0x0106, /* TOKEN: revoke at logout */

	/* self-service: the subject is always the caller's uid */
	PWL_MSG_TOKEN_ISSUE	= 0x0201, /* KEY, ttl?, services? */
	PWL_MSG_TOKEN_LIST	= 0x0202,
	PWL_MSG_TOKEN_REVOKE	= 0x0203, /* key_id (token id) */
	PWL_MSG_KEY_CREATE	= 0x0301, /* label?, lifetime?, services? */
	PWL_MSG_KEY_LIST	= 0x0302,
	PWL_MSG_KEY_REVOKE	= 0x0303, /* key_id */
	PWL_MSG_KEY_ROTATE	= 0x0304, /* key_id, grace? */
	PWL_MSG_CONTACT_SHOW	= 0x0401,
	PWL_MSG_CONTACT_SET	= 0x0402, /* email? | phone? */
	PWL_MSG_CONTACT_CONFIRM	= 0x0403, /* CODE */
	PWL_MSG_CONTACT_CANCEL	= 0x0404,
	PWL_MSG_CONTACT_REMOVE	= 0x0405, /* kind, TOKEN|KEY */
	PWL_MSG_AUDIT_LIST	= 0x0501, /* since?, next? */

	/* admin: uid 0 or members of admin_group */
	PWL_MSG_ADMIN_USER_ADD	  = 0x0f01, /* user, email?, phone? */
	PWL_MSG_ADMIN_USER_LIST	  = 0x0f02,
	PWL_MSG_ADMIN_USER_SHOW	  = 0x0f03, /* user */
	PWL_MSG_ADMIN_USER_SET	  = 0x0f04, /* user, disabled?, email?, phone? */
	PWL_MSG_ADMIN_USER_REMOVE = 0x0f05, /* user */
	PWL_MSG_ADMIN_KEY_LIST	  = 0x0f06, /* user */
	PWL_MSG_ADMIN_KEY_REVOKE_ALL = 0x0f07, /* user */
	PWL_MSG_ADMIN_UNLOCK	  = 0x0f08, /* user */
	PWL_MSG_ADMIN_AUDIT	  = 0x0f09, /* user?, since?, next? */
	PWL_MSG_ADMIN_AUDIT_VERIFY = 0x0f0a, /* next? */
	PWL_MSG_ADMIN_CONTACT_APPROVE = 0x0f0b, /* user */
	PWL_MSG_ADMIN_SEND_TEST	  = 0x0f20, /* email | phone */
	PWL_MSG_ADMIN_OUTBOX_STATE = 0x0f21, /* outbox_id */
	PWL_MSG_ADMIN_LIMITS	  = 0x0f10, /* per-source limits in force */
	PWL_MSG_ADMIN_LIMITS_CLEAR = 0x0f11, /* kind?, value?: forget */

	/* internal: pwlessd to its sender child (socketpair only) */
	PWL_MSG_SEND		= 0x0e01, /* outbox row to deliver */
};

/* Response status, first u16 of every response body. */
enum pwl_status {
	PWL_ST_OK		= 0,
	PWL_ST_DENIED		= 1,	/* wrong key, code or token */
	PWL_ST_UNKNOWN_USER	= 2,	/* only to callers that may know */
	PWL_ST_EXPIRED		= 3,	/* challenge or token expired */
	PWL_ST_RATE_LIMITED	= 4,
	PWL_ST_NOT_PERMITTED	= 5,	/* caller may not do this */
	PWL_ST_NO_FACTOR	= 6,	/* no contact to send a code to */
	PWL_ST_BAD_REQUEST	= 7,
	PWL_ST_VERSION		= 8,
	PWL_ST_INTERNAL		= 9,
	PWL_ST_UNAVAILABLE	= 10,	/* cannot record: disk full, locked */
	PWL_ST_NOT_FOUND	= 11,	/* no such key, token or user */
	PWL_ST_EXISTS		= 12,	/* user already enrolled */
	PWL_ST_DISABLED		= 13,	/* account disabled by an admin */
	PWL_ST_LIMIT		= 14,	/* too many keys, lifetime too long */
	PWL_ST__MAX
};

/*
 * Tags.  Bit 15 marks a critical tag: a receiver that does not know it
 * answers PWL_ST_BAD_REQUEST.  Unknown non-critical tags are skipped.
 * Each tag has one kind and cap in lib/proto.c (pwl_tag_info).
 */
#define PWL_TAG_CRITICAL	0x8000

enum pwl_tag {
	PWL_T_USER	= 0x8001, /* str, printable, 255 */
	PWL_T_SERVICE	= 0x8002, /* str, printable, 64 */
	PWL_T_RHOST	= 0x0003, /* str, printable, 255 */
	PWL_T_TTY	= 0x0004, /* str, printable, 64 */
	PWL_T_RUSER	= 0x0005, /* str, printable, 255 */
	PWL_T_KEY	= 0x8006, /* str, SECRET, 128: pwl_ API key */
	PWL_T_CODE	= 0x8007, /* str, SECRET, 12: one-time code */
	PWL_T_TOKEN	= 0x8008, /* str, SECRET, 128: pwt_ token */
	PWL_T_KEY_ID	= 0x8009, /* str, printable, 16 */
	PWL_T_LABEL	= 0x000a, /* str, printable, 64 */
	PWL_T_SERVICES	= 0x800b, /* str, printable, 255: comma list */
	PWL_T_LIFETIME	= 0x800c, /* u64 seconds */
	PWL_T_GRACE	= 0x800d, /* u64 seconds */
	PWL_T_CREATED	= 0x000e, /* u64 unix time */
	PWL_T_EXPIRES	= 0x000f, /* u64 unix time, 0 = never */
	PWL_T_LAST_USED	= 0x0010, /* u64 unix time, 0 = never */
	PWL_T_LAST_SERVICE = 0x0011, /* str, printable, 64 */
	PWL_T_LAST_RHOST = 0x0012, /* str, printable, 255 */
	PWL_T_STATE	= 0x0013, /* str, printable, 16: active/revoked/... */
	PWL_T_ITEM	= 0x0014, /* nested TLVs; may repeat */
	PWL_T_EMAIL	= 0x8015, /* str, printable, 254 */
	PWL_T_PHONE	= 0x8016, /* str, printable, 16 (E.164) */
	PWL_T_DISABLED	= 0x8017, /* u8 0/1 */
	PWL_T_CHANNEL	= 0x8018, /* u8 enum pwl_channel */
	PWL_T_CHALLENGE	= 0x8019, /* str, printable, 32 */
	PWL_T_MASKED	= 0x001a, /* str, printable, 254: j***@e***.com */
	PWL_T_TTL	= 0x801b, /* u64 seconds */
	PWL_T_WANT_TOKEN = 0x001c, /* u8 0/1 */
	PWL_T_MESSAGE	= 0x001d, /* str, printable, 255: text for the user */
	PWL_T_RETRY_AFTER = 0x001e, /* u64 seconds */
	PWL_T_ATTEMPTS_LEFT = 0x001f, /* u32 */
	PWL_T_VERSION	= 0x0020, /* str, printable, 32 */
	PWL_T_COUNT	= 0x0021, /* u32 */
	PWL_T_SINCE	= 0x0022, /* u64 unix time */
	PWL_T_UID	= 0x0023, /* u32 */
	PWL_T_TIME	= 0x0024, /* u64 unix time */
	PWL_T_EVENT	= 0x0025, /* str, printable, 255 */
	PWL_T_CODE_LEN	= 0x0026, /* u32 */
	PWL_T_FAILURES	= 0x0027, /* u32 */
	PWL_T_LOCKED_UNTIL = 0x0028, /* u64 unix time */
	PWL_T_PENDING	= 0x0029, /* str, printable, 254 */
	PWL_T_KIND	= 0x002a, /* str, printable, 16: session/api token */
	PWL_T_NEXT	= 0x0040, /* str, printable, 255: cursor of next page */
	PWL_T_OUTBOX_ID	= 0x802a, /* u64: outbox row (sender link) */
	PWL_T_SUBJECT	= 0x002b, /* str, printable, 255: mail subject */
	PWL_T_BODY	= 0x802c, /* text, SECRET, 4000: message body */
	PWL_T_MSGID	= 0x802d, /* str, printable, 128: Message-ID */
	PWL_T_NEED	= 0x0050, /* str, printable, 16: "new,old" */
	PWL_T_COOLING	= 0x0051, /* u64 unix time: codes resume then */
	PWL_T_METHOD	= 0x0052, /* str, printable, 63: key/code/token */
	PWL_T_RESULT	= 0x0053, /* str, printable, 63 */
	PWL_T_DETAIL	= 0x0054, /* str, printable, 255: k=v k=v */
	PWL_T_AUDIT_ID	= 0x0055, /* u64: audit row */
	PWL_T_HEAD	= 0x0056, /* str, printable, 64: hash, hex */
	PWL_T_MASKED_OLD = 0x0057, /* str, printable, 254 */
	PWL_T_BROKEN	= 0x0058, /* u64: first audit row that fails */
	PWL_T_LAST_ERROR = 0x0060, /* str, printable, 255: delivery error */
};

enum pwl_channel {
	PWL_CH_DEFAULT	= 0,
	PWL_CH_EMAIL	= 1,
	PWL_CH_SMS	= 2,
};

/* Field caps (bytes, without NUL). */
#define PWL_USER_MAX		255
#define PWL_SERVICE_MAX		64
#define PWL_TTY_MAX		64
#define PWL_RHOST_MAX		255
#define PWL_SECRET_MAX		128	/* key, token */
#define PWL_CODE_MAX		12
#define PWL_LABEL_MAX		64
#define PWL_EMAIL_MAX		254
#define PWL_PHONE_MAX		16
#define PWL_KEYID_MAX		16
#define PWL_CHALLENGE_MAX	32
#define PWL_STR_MAX		255	/* largest printable string */
#define PWL_BODY_MAX		4000	/* message body (sender link) */
#define PWL_MSGID_MAX		128

/* TLV kinds, for the codec's checks. */
enum pwl_kind {
	PWL_K_STR	= 1,	/* UTF-8, no NUL */
	PWL_K_PRINT	= 2,	/* UTF-8, no control bytes */
	PWL_K_SECRET	= 3,	/* printable ASCII, redacted when printed */
	PWL_K_U8	= 4,
	PWL_K_U32	= 5,
	PWL_K_U64	= 6,
	PWL_K_NEST	= 7,	/* nested TLVs, may repeat */
	PWL_K_TEXT	= 8,	/* printable lines joined by LF; SECRET */
};

struct pwl_tag_info {
	uint16_t	 tag;
	uint8_t		 kind;		/* enum pwl_kind */
	uint16_t	 max;		/* longest value in bytes */
	const char	*name;		/* for the debug printer */
};

/* Error codes of the library: 0 or negative. */
#define PWL_ERR_NOSOCKET	(-1)	/* socket missing or refused */
#define PWL_ERR_TIMEOUT		(-2)	/* deadline passed */
#define PWL_ERR_IO		(-3)	/* read, write or connect failed */
#define PWL_ERR_PROTO		(-4)	/* malformed frame or body */
#define PWL_ERR_VERSION		(-5)	/* peer speaks another major */
#define PWL_ERR_TOOBIG		(-6)	/* over a limit */
#define PWL_ERR_NOMEM		(-7)
#define PWL_ERR_UNTRUSTED	(-8)	/* socket owner or peer not trusted */
#define PWL_ERR_INVAL		(-9)	/* bad argument */

/* Frame header. */
struct pwl_hdr {
	uint32_t	body_len;
	uint8_t		major;
	uint8_t		minor;
	uint16_t	type;
	uint32_t	req_id;
};

void	pwl_hdr_encode(const struct pwl_hdr *, uint8_t out[PWL_HDR_LEN]);
/* Decodes and checks body_len against max; PWL_ERR_VERSION on major. */
int	pwl_hdr_decode(const uint8_t in[PWL_HDR_LEN], size_t max,
	    struct pwl_hdr *);

/* Writer into a caller-owned buffer; errors stick until checked. */
struct pwl_wbuf {
	uint8_t		*p;		/* buffer start */
	size_t		 cap;		/* its size */
	size_t		 len;		/* bytes written */
	int		 err;		/* first error, 0 if none */
};

void	pwl_w_init(struct pwl_wbuf *, uint8_t *, size_t);
void	pwl_w_status(struct pwl_wbuf *, uint16_t);
void	pwl_w_str(struct pwl_wbuf *, uint16_t, const char *);
void	pwl_w_bytes(struct pwl_wbuf *, uint16_t, const void *, size_t);
void	pwl_w_u8(struct pwl_wbuf *, uint16_t, uint8_t);
void	pwl_w_u32(struct pwl_wbuf *, uint16_t, uint32_t);
void	pwl_w_u64(struct pwl_wbuf *, uint16_t, uint64_t);
/* Nested item: begin returns a mark, end patches its length. */
size_t	pwl_w_begin(struct pwl_wbuf *, uint16_t);
void	pwl_w_end(struct pwl_wbuf *, size_t);

/* Parsed body: views into the caller's buffer, no allocation. */
#define PWL_MSG_MAX_TLVS	128

struct pwl_tlv {
	uint16_t	 tag;
	uint16_t	 len;
	const uint8_t	*val;
};

struct pwl_msg {
	uint16_t	 status;	/* responses only */
	size_t		 n;
	struct pwl_tlv	 tlv[PWL_MSG_MAX_TLVS];
};

/*
 * Parses a body of TLVs (after the status when has_status).  Checks
 * overruns, trailing bytes, duplicates, unknown critical tags, and each
 * known tag's kind and cap.  Returns 0 or PWL_ERR_PROTO.
 */
int	pwl_msg_parse(const uint8_t *, size_t, int has_status,
	    struct pwl_msg *);
const struct pwl_tlv *pwl_msg_get(const struct pwl_msg *, uint16_t);
/* Copies a string value into out (NUL-terminated); -1 if absent. */
int	pwl_msg_str(const struct pwl_msg *, uint16_t, char *, size_t);
int	pwl_msg_u8(const struct pwl_msg *, uint16_t, uint8_t *);
int	pwl_msg_u32(const struct pwl_msg *, uint16_t, uint32_t *);
int	pwl_msg_u64(const struct pwl_msg *, uint16_t, uint64_t *);

const struct pwl_tag_info *pwl_tag_info(uint16_t);
const char *pwl_status_name(uint16_t);
const char *pwl_type_name(uint16_t);
const char *pwl_strerror(int);

/*
 * Debug printer: one line "TYPE tag=value ..." with secrets shown as
 * <redacted len=N>.  Always NUL-terminates out.
 */
void	pwl_msg_format(uint16_t type, const struct pwl_msg *, char *, size_t);

/* Printable: UTF-8 without control bytes (C0, DEL, C1). */
int	pwl_printable(const char *, size_t);

#endif /* PWLESS_PROTO_H */
