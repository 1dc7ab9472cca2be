/* hq_http — posagent-hq's HTTPS front: libmicrohttpd over GnuTLS, a pool
 * of worker threads each with its own store connection, routing,
 * credentials, bounds and backpressure. */
#ifndef HQ_HTTP_H
#define HQ_HTTP_H

#include <stdint.h>

struct hq_server_opts {
	const char *addr;               /* numeric IPv4/IPv6 or a host name */
	int port;                       /* 0: any free port */
	const char *db_spec;
	char *cert_pem, *key_pem, *ca_pem;  /* owned by the caller */
	int threads;                    /* worker threads */
	int busy_ms;                    /* store lock wait before 429 */
	int accept_new;                 /* register a store on first contact
	                                   with a fleet-CA certificate */
	int offline_after_s;            /* heartbeat age that means offline */
	int max_inflight;               /* concurrent batches before 429 */
	int behind_proxy;               /* plain HTTP on loopback; identity
	                                   from the proxy's X-Client-Verify and
	                                   X-Client-Cert headers */
};

typedef struct hq_server hq_server;

/* Listen and serve. *port_out gets the bound port. */
int hq_server_start(const struct hq_server_opts *o, hq_server **out,
    int *port_out);
void hq_server_stop(hq_server *s);

#endif
