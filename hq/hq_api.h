/* hq_api — the read JSON API the dashboard and scripts use:
 *   GET /api/v1/fleet
 *   GET /api/v1/agents/{id}?state=S&since=ISO&until=ISO
 *   GET /api/v1/agents/{id}/jobs/{uuid}?page=N&page_size=N&level=L
 * (docs/hq.md describes every field). */
#ifndef HQ_API_H
#define HQ_API_H

#include "hq/hq_db.h"

#include <jansson.h>

#define HQ_API_MAX_JOBS      500
#define HQ_API_MAX_PAGE_SIZE 500

enum hq_api_what { HQ_API_FLEET, HQ_API_AGENT, HQ_API_JOB };

struct hq_api_query {
	const char *id, *uuid;                  /* from the path */
	const char *state, *since, *until;      /* query; NULL when absent */
	const char *level, *page, *page_size;
	int offline_after_s;
};

/* Build the answer: returns the HTTP status and *out the document (an
 * {"error"} object for 4xx/5xx). */
unsigned hq_api_get(hq_db *db, enum hq_api_what w,
    const struct hq_api_query *q, json_t **out);

/* The agent object of the fleet for one row of hq_store_agents (used by
 * the alerts too). now_ms decides online. */
json_t *hq_api_agent_obj(const hq_rows *agents, int row, const hq_rows *latest,
    int64_t now_ms, int offline_after_s);

#endif
