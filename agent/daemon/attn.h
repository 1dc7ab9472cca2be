/* attn — does this agent need a person? The reasons `posagent status`
 * lists (and exits 1 for) and the metrics file exports, decided from the
 * heartbeat document, the [status] limits and the inbox (issue #13; the
 * mapping is documented in docs/operations.md and posagent(1)). */
#ifndef ATTN_H
#define ATTN_H

#include <stdint.h>

#include <jansson.h>

#include "agent/core/config.h"

/* Every reason attn_reasons can give, in a fixed order (metrics export
 * each, 0 or 1). NULL-terminated. */
extern const char *const attn_all[];

/* New array of {"reason", "message", "since"?} for doc (the document of
 * syncer_status_json) at now_ms; empty when all is well. NULL only when
 * out of memory. */
json_t *attn_reasons(const struct pa_config *cfg, json_t *doc, int64_t now_ms);

#endif
