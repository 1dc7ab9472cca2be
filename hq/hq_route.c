/* hq_route — see hq_route.h. */
#include "hq/hq_route.h"

#include <stdio.h>
#include <string.h>

static int
id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HQ_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return 0;
	return 1;
}

/* Split "/api/v1/agents/ID[/rest]"; *rest points after ID (maybe ""). */
static int
agent_path(const char *url, struct req *q, const char **rest)
{
	static const char pre[] = "/api/v1/agents/";
	const char *p, *e;

	if (strncmp(url, pre, sizeof(pre) - 1) != 0)
		return 0;
	p = url + sizeof(pre) - 1;
	e = strchr(p, '/');
	if (e == NULL)
		e = p + strlen(p);
	if (!id_ok(p, (size_t)(e - p)))
		return 0;
	memcpy(q->id, p, (size_t)(e - p));
	q->id[e - p] = '\0';
	*rest = e;
	return 1;
}

enum route
hq_route(const char *method, const char *url, struct req *q)
{
	const char *rest;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int post = strcmp(method, "POST") == 0;

	if (strlen(url) > HQ_MAX_URL)
		return R_NONE;
	if (get && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0))
		return R_INDEX;
	if (get && strcmp(url, "/api/v1/fleet") == 0)
		return R_FLEET;
	if (!agent_path(url, q, &rest))
		return R_NONE;
	if (post && strcmp(rest, "/events") == 0)
		return R_EVENTS;
	if (post && strcmp(rest, "/heartbeat") == 0)
		return R_HEARTBEAT;
	if (get && rest[0] == '\0')
		return R_AGENT;
	if (get && strncmp(rest, "/jobs/", 6) == 0 && strlen(rest + 6) > 0 &&
	    strlen(rest + 6) < sizeof(q->uuid) && id_ok(rest + 6, strlen(rest + 6))) {
		snprintf(q->uuid, sizeof(q->uuid), "%s", rest + 6);
		return R_JOB;
	}
	return R_NONE;
}

