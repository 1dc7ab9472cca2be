/* hq — configuration shared by the HQ client and the sync loop (DESIGN §7).
 * Never includes agent/ headers. */
#ifndef HQ_H
#define HQ_H

struct hq_config {
	char url[512];          /* https://hq.example:443 ; "" = HQ sync disabled */
	char ca_file[512];
	char cert_file[512];    /* optional mTLS */
	char key_file[512];
	char token_file[512];   /* optional bearer token; must not be group/other readable */
	char pin[128];          /* optional "sha256//BASE64" */
	long heartbeat_s;       /* default 30 */
	long batch_max;         /* default 500 */
	long timeout_ms;        /* default 10000 */
	long outbox_max_events; /* outbox size cap: beyond it the oldest log
	                           events are dropped (never job events);
	                           default 1000000 */
};

#endif
