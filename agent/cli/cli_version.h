/* cli_version — the --version output (plain, --verbose, --json). */
#ifndef CLI_VERSION_H
#define CLI_VERSION_H

/* Print posagent's version to stdout; with verbose, every bundled library:
 * its run-time version and the Debian source package it was built from.
 * Returns PA_OK, or PA_ENOMEM (nothing printed for --json). */
int cli_version(int verbose, int json);

#endif
