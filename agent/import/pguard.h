/* pguard — the price guard (DESIGN §5): stop a price list that would move
 * too many prices too far at once, the signature of a whole-file mistake
 * (Price and Cost swapped, rubles read as kopecks or back, a shifted
 * column) that no single row shows. A pure decision over the catalog's
 * price statistics, so every verdict is testable without a file. */
#ifndef PGUARD_H
#define PGUARD_H

#include <jansson.h>
#include <stddef.h>

#include "agent/store/catalog.h"

enum pg_verdict { PG_PASSED, PG_FAILED, PG_ACCEPTED, PG_OFF };
enum pg_cause { PG_CAUSE_NONE, PG_CAUSE_SWAP, PG_CAUSE_TIMES100,
	PG_CAUSE_DIV100 };

struct pg_result {
	enum pg_verdict verdict;
	enum pg_cause cause;        /* the pattern most moving rows show */
	double share;               /* percent of matched products moving */
	struct cat_price_stats st;
	double max_change, max_share;
};

/* Decide. max_change / max_share are the profile's percents (both 100:
 * off); accepted: a person accepted the change for this run. A FAILED
 * (or ACCEPTED) verdict writes the explanation into msg. */
void pg_decide(const struct cat_price_stats *st, double max_change,
    double max_share, int accepted, struct pg_result *out, char *msg,
    size_t msglen);

const char *pg_verdict_name(enum pg_verdict v);
const char *pg_cause_name(enum pg_cause c);   /* "swap", "x100", "div100", NULL */

/* The verdict for the job object and HQ: {verdict, matched, changed,
 * share_percent, max_price_change_percent, max_changed_share_percent,
 * likely_cause}. New reference. */
json_t *pg_to_json(const struct pg_result *r);

#endif
