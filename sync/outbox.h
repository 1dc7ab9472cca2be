/* outbox — durable, ordered queue of events for HQ, in agent.db (DESIGN §7).
 *
 * Producers call outbox_put() inside their own transaction, so an event exists
 * if and only if the change it describes was committed. */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <sqlite3.h>
#include <jansson.h>

typedef struct outbox outbox;

/* Create the outbox tables if missing (idempotent; called from the agent.db
 * migration inside its transaction). */
int outbox_schema(sqlite3 *db);

/* Prepare statements on db (which the caller keeps open and owns).
 * *out is freed with outbox_close(). */
int outbox_open(sqlite3 *db, outbox **out);
void outbox_close(outbox *ob);

/* Append one event: type "job" | "log"; ts ISO-8601 UTC with milliseconds;
 * data is borrowed and serialised. Must run inside the caller's transaction.
 * Never blocks and never fails because HQ is down. */
int outbox_put(outbox *ob, const char *type, const char *ts, const json_t *data);

#endif
