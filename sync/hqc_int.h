/* hqc_int — what the two halves of the HQ client share: hqc.c builds the
 * handle (configuration checks, TLS and libcurl options, headers); hqc_post.c
 * sends a request and says what its answer or failure means. Not for use
 * outside these two files. */
#ifndef HQC_INT_H
#define HQC_INT_H

#include <stddef.h>

#include <curl/curl.h>

#include "sync/hqc.h"

struct hqc {
	CURL *curl;
	struct curl_slist *headers;     /* holds the bearer token */
	char url_events[1024];
	char url_heartbeat[1024];
	char base[512];                 /* for messages */
	char ca_file[512];
	/* For the handshake probe (tlsprobe.h) after a failure. */
	char host[256];
	char port[8];
	char cert_file[512];
	char key_file[512];
	long timeout_ms;
	int https;
	char errbuf[CURL_ERROR_SIZE];
	char body[HQC_MAX_RESPONSE_BYTES + 1];
	size_t body_len;
	int truncated;
	long connects;
	int global;                     /* curl_global_init succeeded */
};

/* libcurl's write callback (CURLOPT_WRITEFUNCTION, arg is the hqc): keeps
 * the answer in c->body, stopping the transfer past
 * HQC_MAX_RESPONSE_BYTES (c->truncated). */
size_t hqc__on_body(char *p, size_t size, size_t nmemb, void *arg);

#endif
