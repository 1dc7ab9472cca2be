#include "agent/import/pguard.h"

#include <stdio.h>
#include <string.h>

const char *
pg_verdict_name(enum pg_verdict v)
{
	static const char *const n[] = { "passed", "failed", "accepted", "off" };

	return n[v];
}

const char *
pg_cause_name(enum pg_cause c)
{
	static const char *const n[] = { NULL, "swap", "x100", "div100" };

	return n[c];
}

/* The question the message ends with, naming the likely mistake. */
static const char *
cause_hint(enum pg_cause c)
{
	switch (c) {
	case PG_CAUSE_SWAP:
		return "are Price and Cost swapped?";
	case PG_CAUSE_TIMES100:
		return "are the prices 100 times too high (kopecks read as "
		    "rubles)?";
	case PG_CAUSE_DIV100:
		return "are the prices 100 times too low (rubles read as "
		    "kopecks)?";
	default:
		return "is a column shifted, or is this the wrong file or "
		    "profile?";
	}
}

void
pg_decide(const struct cat_price_stats *st, double max_change,
    double max_share, int accepted, struct pg_result *out, char *msg,
    size_t msglen)
{
	memset(out, 0, sizeof(*out));
	out->st = *st;
	out->max_change = max_change;
	out->max_share = max_share;
	if (msglen)
		msg[0] = '\0';
	out->share = st->matched ? 100.0 * (double)st->changed /
	    (double)st->matched : 0;
	/* A pattern is named only when it explains most moving rows. */
	if (st->changed > 0) {
		if (st->swapped * 2 > st->changed)
			out->cause = PG_CAUSE_SWAP;
		else if (st->times100 * 2 > st->changed)
			out->cause = PG_CAUSE_TIMES100;
		else if (st->div100 * 2 > st->changed)
			out->cause = PG_CAUSE_DIV100;
	}
	if (max_change >= 100 && max_share >= 100) {
		out->verdict = PG_OFF;
		return;
	}
	if (st->matched == 0 || out->share <= max_share) {
		out->verdict = PG_PASSED;
		return;
	}
	out->verdict = accepted ? PG_ACCEPTED : PG_FAILED;
	snprintf(msg, msglen, "%.0f %% of prices would change by more than "
	    "%g %% (%ld of %ld matched products; the profile's "
	    "max_changed_share_percent is %g) — %s", out->share, max_change,
	    st->changed, st->matched, max_share, cause_hint(out->cause));
}

json_t *
pg_to_json(const struct pg_result *r)
{
	const char *cause = pg_cause_name(r->cause);

	return json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:o}",
	    "verdict", pg_verdict_name(r->verdict),
	    "matched", (json_int_t)r->st.matched,
	    "changed", (json_int_t)r->st.changed,
	    "share_percent", (double)((long)(r->share * 10 + 0.5)) / 10.0,
	    "max_price_change_percent", r->max_change,
	    "max_changed_share_percent", r->max_share,
	    "likely_cause", cause ? json_string(cause) : json_null());
}
