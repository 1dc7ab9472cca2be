/* tlsf — offline checks of the TLS files named in [hq], for
 * `posagent config check`: each parses as PEM, the client certificate and
 * key belong together, certificates are inside their validity period.
 * Nothing is sent anywhere. */
#ifndef TLSF_H
#define TLSF_H

#include <stddef.h>

/* ca_file holds at least one certificate and none has expired.
 * PA_ECONFIG with a message naming the file and what is wrong. */
int tlsf_check_ca(const char *path);

/* cert_file parses, is valid now, and key_file (unencrypted PEM/DER)
 * holds the private key of its public key. PA_ECONFIG otherwise. */
int tlsf_check_pair(const char *cert_path, const char *key_path);

#endif
