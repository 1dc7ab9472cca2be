/* hq_guard — see hq_guard.h. */
#include "hq/hq_guard.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hq/hq_auth.h"
#include "hq/hq_log.h"
#include "hq/hq_store.h"

void
hq_guard_peer(struct MHD_Connection *c, int behind_proxy, char out[64])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *fwd = behind_proxy ? MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-Forwarded-For") : NULL;

	snprintf(out, 64, "?");
	if (fwd) {
		snprintf(out, 64, "%.40s (via proxy)", fwd);
		return;
	}
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    out, 64);
}

/* --- credentials --------------------------------------------------------- */

/* 0 when the request may act as agent id; else the status to answer,
 * with why filled. Every refusal is logged (DESIGN §7: a store never
 * writes as another). */
unsigned
hq_guard_agent(struct MHD_Connection *c, hq_db *db, const char *id,
    int behind_proxy, int accept_new, char *why, size_t wcap)
{
	const union MHD_ConnectionInfo *ci;
	struct hq_cert_names cn;
	struct hq_agent_row row;
	char tok[HQ_TOKEN_MAX + 1], hash[65], ip[64];
	int has_tok, cert_match = 0, i, rc;
	unsigned status = 0;

	if (behind_proxy) {
		hq_auth_cert_names_proxy(MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, "X-Client-Verify"), MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, "X-Client-Cert"), &cn);
	} else {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		hq_auth_cert_names(ci ? ci->tls_session : NULL, &cn);
	}
	for (i = 0; i < cn.n; i++)
		if (strcmp(cn.name[i], id) == 0)
			cert_match = 1;
	has_tok = hq_auth_bearer(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Authorization"), tok);
	/* PA_EIO: the PostgreSQL session was lost and is new now. */
	if ((rc = hq_store_agent_get(db, id, &row)) == PA_EIO)
		rc = hq_store_agent_get(db, id, &row);
	if (rc != PA_OK) {
		snprintf(why, wcap, "%s", pa_err_msg(rc));
		return rc == PA_ETIMEOUT ? 429 : 503;
	}
	if (row.exists && has_tok && row.token_hash[0] &&
	    hq_auth_hash(tok, hash) == PA_OK && hq_auth_hash_eq(hash, row.token_hash))
		goto ok;
	if (row.exists && cert_match)
		goto ok;
	if (!row.exists && cert_match && accept_new) {
		if ((rc = hq_store_agent_add(db, id, NULL, 1,
		    hal_sys.now_ms())) != PA_OK) {
			snprintf(why, wcap, "%s", pa_err_msg(rc));
			return rc == PA_ETIMEOUT ? 429 : 503;
		}
		hq_log(HQ_LOG_NOTICE, "agent %s registered on first contact "
		    "(certificate from the fleet CA)", id);
		goto ok;
	}
	if (!row.exists) {
		status = 403;
		snprintf(why, wcap, "agent %s is not registered at HQ "
		    "(posagent-hq agent add %s)", id, id);
	} else if (!has_tok && cn.n == 0) {
		status = 401;
		snprintf(why, wcap, "no credential for agent %s: %s and no bearer "
		    "token", id, cn.why);
	} else {
		status = 403;
		snprintf(why, wcap, "credentials are not those of agent %s%s%s",
		    id, cn.n ? ": certificate is for " : "", cn.n ? cn.name[0] : "");
	}
	hq_guard_peer(c, behind_proxy, ip);
	hq_log(HQ_LOG_WARNING, "refused %s: %s", ip, why);
	explicit_bzero(tok, sizeof(tok));
	return status;
ok:
	explicit_bzero(tok, sizeof(tok));
	return 0;
}

/* An operator token, never an agent's credential (separate tables). */
unsigned
hq_guard_operator(struct MHD_Connection *c, hq_db *db, char *why, size_t wcap)
{
	char tok[HQ_TOKEN_MAX + 1], hash[65];
	int ok = 0, rc;

	if (!hq_auth_bearer(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Authorization"), tok)) {
		snprintf(why, wcap, "an operator token is required "
		    "(Authorization: Bearer ...)");
		return 401;
	}
	rc = hq_auth_hash(tok, hash);
	explicit_bzero(tok, sizeof(tok));
	if (rc == PA_OK && (rc = hq_store_operator_check(db, hash, &ok)) == PA_EIO)
		rc = hq_store_operator_check(db, hash, &ok); /* a new session */
	if (rc != PA_OK) {
		snprintf(why, wcap, "%s", pa_err_msg(rc));
		return rc == PA_ETIMEOUT ? 429 : 503;
	}
	if (!ok) {
		snprintf(why, wcap, "unknown operator token");
		return 401;
	}
	return 0;
}

