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


static int
cmd_init(struct cli_ctx *ctx, const struct pa_args *args)
{
	char path[4200];
	adb *a = NULL;
	cat *c = NULL;
	int rc;

	(void)args;
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

enum { PA_REPLACE };
static const struct pa_opt add_opts[] = {
	[PA_REPLACE] = { "replace", 0, NULL, "replace a stored profile of the "
	    "same name", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
profile_add(struct cli_ctx *ctx, const struct pa_args *args)
{
	struct profile *p = NULL;
	const char *file = args->pos[0];
	char *text = NULL;
	size_t len = 0;
	int rc, replace = args->val[PA_REPLACE] != NULL;
	adb *a = NULL;

	if ((rc = cli_store(ctx, &a, 1)) != PA_OK)
		return rc;
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
	adb_close(a);
	return rc;
}

static int
profile_list(struct cli_ctx *ctx, const struct pa_args *args)
{
	static const struct cli_col cols[] = {
		{ "name", "NAME", 0, 40 }, { "file_format", "FORMAT", 0, 0 },
		{ "supplier_code", "SUPPLIER", 0, 12 },
		{ "upsert_field", "KEY", 0, 0 }, { "file_pattern", "PATTERN", 0, 30 },
		{ "active", "ACTIVE", 0, 0 },
	};
	json_t *list = NULL;
	adb *a = NULL;
	int rc;

	(void)args;
	if ((rc = cli_store(ctx, &a, 0)) != PA_OK)
		return rc;
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
out:
	json_decref(list);
	adb_close(a);
	return rc;
}

static int
profile_show(struct cli_ctx *ctx, const struct pa_args *args)
{
	struct profile *p = NULL;
	adb *a = NULL;
	char *s;
	int rc;

	if ((rc = cli_store(ctx, &a, 0)) != PA_OK)
		return rc;
	if ((rc = prof_get(a, args->pos[0], &p)) != PA_OK)
		goto out;
	if (ctx->json) {
		cli_emit_json(json_incref(p->json));
	} else {
		s = json_dumps(p->json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		pa_free(s);
	}
out:
	prof_free(p);
	adb_close(a);
	return rc;
}

static int
profile_remove(struct cli_ctx *ctx, const struct pa_args *args)
{
	adb *a = NULL;
	int rc;

	if ((rc = cli_store(ctx, &a, 1)) != PA_OK)
		return rc;
	if ((rc = prof_remove(a, args->pos[0])) == PA_OK) {
		if (ctx->json)
			cli_emit_json(json_pack("{s:s}", "removed", args->pos[0]));
		else if (!ctx->quiet)
			printf("profile \"%s\" removed\n", args->pos[0]);
	}
	adb_close(a);
	return rc;
}

const struct cli_group cli_init_group = {
	"init",
	"Create the data directory, agent.db, catalog.db, spool/ and inbox/.\n"
	"Safe to run again: existing data is kept and the schema is migrated.\n",
	(const struct cli_verb[]){
		{ NULL, NULL, 0, 0, NULL, cmd_init, "create the data directory "
		    "and databases" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

const struct cli_group cli_profile_group = {
	"profile",
	"Import profiles map a supplier's columns to catalog fields; see\n"
	"docs/profiles.md for the fields and the validation rules.\n",
	(const struct cli_verb[]){
		{ "add", "FILE.json", 1, 1, add_opts, profile_add, NULL },
		{ "list", NULL, 0, 0, NULL, profile_list, NULL },
		{ "show", "NAME", 1, 1, NULL, profile_show, NULL },
		{ "remove", "NAME", 1, 1, NULL, profile_remove, NULL },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};
