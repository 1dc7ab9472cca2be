/* hq_route — which endpoint a request is for, from its method and path;
 * the ids in a path are checked against the agent's own id rules. */
#ifndef HQ_ROUTE_H
#define HQ_ROUTE_H

#include <stddef.h>

#include "hq/hq_store.h"

#define HQ_MAX_URL 512

enum route { R_NONE, R_EVENTS, R_HEARTBEAT, R_INDEX, R_FLEET, R_AGENT, R_JOB };

/* One request in progress (libmicrohttpd's per-request context). */
struct req {
	enum route route;
	char id[HQ_ID_MAX + 1];         /* {id} of the path */
	char uuid[80];                  /* {uuid} of a job path */
	char *buf;                      /* the body so far */
	size_t len, cap, limit;
	int too_big;
	void *work;                     /* hq_http.c's: a request handed to
	                                   the store workers, and its answer */
};

/* Route of method + url; fills q->id and q->uuid. R_NONE: 404. */
enum route hq_route(const char *method, const char *url, struct req *q);

#endif
