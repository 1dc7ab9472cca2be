/* hq_guard — who may make a request: a store acting as its own id (its
 * client certificate, or its registered bearer token), an operator
 * reading (an operator token, never a store's credential). Every refusal
 * of a store is logged with the client's address (DESIGN §7: a store
 * never writes as another). */
#ifndef HQ_GUARD_H
#define HQ_GUARD_H

#include <stddef.h>

#include <microhttpd.h>

#include "hq/hq_db.h"

/* 0 when the request on c may act as agent id; else the status to answer
 * (401, 403; 429/503 when the store cannot say), with why filled. With
 * accept_new, a store not registered whose fleet-CA certificate names it
 * is registered now. behind_proxy: the identity comes from the proxy's
 * X-Client-Verify and X-Client-Cert headers. */
unsigned hq_guard_agent(struct MHD_Connection *c, hq_db *db, const char *id,
    int behind_proxy, int accept_new, char *why, size_t wcap);

/* 0 when the request carries an operator's token; else 401 (429/503 when
 * the store cannot say), with why filled. */
unsigned hq_guard_operator(struct MHD_Connection *c, hq_db *db, char *why,
    size_t wcap);

/* The client's address for a log line (X-Forwarded-For behind a proxy). */
void hq_guard_peer(struct MHD_Connection *c, int behind_proxy, char out[64]);

#endif
