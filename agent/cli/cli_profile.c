/* posagent init | profile add/list/show/remove */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/cli_int.h"
#include "agent/import/profile.h"
#include "agent/store/catalog.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define PROFILE_MAX_BYTES (256 * 1024)  /* a profile is a few hundred bytes */

static const char init_help[] =
"usage: posagent init\n"
"Create the data directory, agent.db, catalog.db, spool/ and inbox/.\n"
"Safe to run again: existing data is kept and the schema is migrated.\n";

static const char profile_help[] =
"usage: posagent profile add [--replace] FILE.json\n"
"       posagent profile list\n"
"       posagent profile show NAME\n"
"       posagent profile remove NAME\n"
"Import profiles map a supplier's columns to catalog fields; see\n"
"docs/profiles.md for the fields and the validation rules.\n";

int
cli_long_arg(const char *opt, const char *val, long min, long max, long *out)
{
	char *end;
	long v;

	if (val == NULL)
		return pa_err_set(PA_EUSAGE, "%s needs a value", opt);
	errno = 0;
	v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < min || v > max)
		return pa_err_set(PA_EUSAGE, "%s %s: expected a whole number from "
		    "%ld to %ld", opt, val, min, max);
	*out = v;
	return PA_OK;
}

int
cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	char path[4200];
	adb *a = NULL;
	cat *c = NULL;
	int rc;

	(void)argv;
	if (cli_wants_help(argc, argv))
		return cli_usage(init_help);
	if (argc > 1)
		return pa_err_set(PA_EUSAGE, "init takes no arguments");
	if ((rc = adb_open(ctx->cfg->data_dir, &a)) != PA_OK ||
	    (rc = cat_open(ctx->cfg->data_dir, &c)) != PA_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/spool", ctx->cfg->data_dir);
	if ((rc = hal_mkdirs(path)) != PA_OK)
		goto out;
	if (ctx->cfg->inbox[0])
		snprintf(path, sizeof(path), "%s", ctx->cfg->inbox);
	else
		snprintf(path, sizeof(path), "%s/inbox", ctx->cfg->data_dir);
	if ((rc = hal_mkdirs(path)) != PA_OK)
		goto out;
	if (ctx->json)
		cli_emit_json(json_pack("{s:s, s:s, s:b}", "data_dir",
		    ctx->cfg->data_dir, "inbox", path, "ok", 1));
	else if (!ctx->quiet)
		printf("posagent: data directory %s ready (agent.db, catalog.db, "
		    "spool/, inbox %s)\n", ctx->cfg->data_dir, path);
out:
	cat_close(c);
	adb_close(a);
	return rc;
}

/* Read a small file whole (profiles only: bounded). */
static int
read_small(const char *path, char **buf, size_t *len)
{
	FILE *f = NULL;
	char *b = NULL;
	size_t n;
	int rc = PA_OK, fd;

	*buf = NULL;
	/* 77 for permission denied, 66 missing, 78 not a file or too big;
	 * a FIFO is refused, never waited on. */
	if ((rc = hal_open_regular(path, PROFILE_MAX_BYTES, &fd)) != PA_OK)
		return pa_err_wrap(rc == PA_EFORMAT || rc == PA_ELIMIT ?
		    PA_EPROFILE : rc, "profile: ");
	if ((f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return pa_err_set(PA_EIO, "read %s: %s", path, strerror(errno));
	}
	if ((b = pa_malloc(PROFILE_MAX_BYTES + 1)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	n = fread(b, 1, PROFILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		rc = pa_err_set(PA_EIO, "read %s: %s", path, strerror(errno));
		goto out;
	}
	if (n > PROFILE_MAX_BYTES) {
		rc = pa_err_set(PA_EPROFILE, "%s is larger than %d bytes: not a "
		    "profile", path, PROFILE_MAX_BYTES);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL; /* transferred */
out:
	pa_free(b);
	fclose(f);
	return rc;
}

static int
profile_add(struct cli_ctx *ctx, adb *a, int argc, char **argv)
{
	struct profile *p = NULL;
	const char *file = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc, i, replace = 0;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--replace") == 0)
			replace = 1;
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			return pa_err_set(PA_EUSAGE, "profile add: unexpected '%s'",
			    argv[i]);
	}
	if (file == NULL)
		return pa_err_set(PA_EUSAGE, "profile add needs FILE.json");
	if ((rc = read_small(file, &text, &len)) != PA_OK)
		goto out;
	if ((rc = prof_parse(text, len, &p)) != PA_OK ||
	    (rc = prof_check_new(p)) != PA_OK) {
		pa_err_wrap(rc, "%s: ", file);
		goto out;
	}
	if ((rc = prof_add(a, p, replace)) != PA_OK)
		goto out;
	if (ctx->json)
		cli_emit_json(json_incref(p->json));
	else if (!ctx->quiet)
		printf("profile \"%s\" %s (%s, key %s, %d mapped columns)\n",
		    p->name, replace ? "saved" : "added", prof_format_name(p->format),
		    cat_field_name(p->upsert_field), __builtin_popcount(p->mapped));
out:
	prof_free(p);
	pa_free(text);
	return rc;
}

int
cmd_profile(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_col cols[] = {
		{ "name", "NAME", 0, 40 }, { "file_format", "FORMAT", 0, 0 },
		{ "supplier_code", "SUPPLIER", 0, 12 },
		{ "upsert_field", "KEY", 0, 0 }, { "file_pattern", "PATTERN", 0, 30 },
		{ "active", "ACTIVE", 0, 0 },
	};
	struct profile *p = NULL;
	json_t *list = NULL;
	adb *a = NULL;
	int rc;

	if (argc < 2 || cli_wants_help(argc, argv))
		return argc < 2 ? pa_err_set(PA_EUSAGE, "profile: add, list, show "
		    "or remove? (posagent profile --help)") : cli_usage(profile_help);
	if ((rc = cli_store(ctx, &a, strcmp(argv[1], "add") == 0 ||
	    strcmp(argv[1], "remove") == 0)) != PA_OK)
		return rc;
	if (strcmp(argv[1], "add") == 0) {
		rc = profile_add(ctx, a, argc, argv);
	} else if (strcmp(argv[1], "list") == 0) {
		if ((rc = prof_list(a, &list)) != PA_OK)
			goto out;
		if (ctx->json) {
			cli_emit_json(list);
			list = NULL;
		} else if (json_array_size(list) == 0) {
			if (!ctx->quiet)
				printf("no profiles yet: posagent profile add FILE.json\n");
		} else {
			cli_table(stdout, ctx->color, cols, 6, list);
		}
	} else if ((strcmp(argv[1], "show") == 0 ||
	    strcmp(argv[1], "remove") == 0) && argc == 3) {
		if (argv[1][0] == 's') {
			if ((rc = prof_get(a, argv[2], &p)) != PA_OK)
				goto out;
			if (ctx->json) {
				cli_emit_json(json_incref(p->json));
			} else {
				char *s = json_dumps(p->json, JSON_INDENT(2) |
				    JSON_PRESERVE_ORDER);
				if (s)
					puts(s);
				pa_free(s);
			}
		} else {
			if ((rc = prof_remove(a, argv[2])) != PA_OK)
				goto out;
			if (ctx->json)
				cli_emit_json(json_pack("{s:s}", "removed", argv[2]));
			else if (!ctx->quiet)
				printf("profile \"%s\" removed\n", argv[2]);
		}
	} else {
		rc = pa_err_set(PA_EUSAGE, "profile %s: see posagent profile --help",
		    argv[1]);
	}
out:
	json_decref(list);
	prof_free(p);
	adb_close(a);
	return rc;
}
