#include "agent/import/space.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/import/jobq.h"
#include "agent/store/adb_jobq.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

#define MB(x) ((double)(x) / (1024.0 * 1024.0))
/* Spool files younger than this are never pruned: an import may have just
 * spooled its file and not yet created its job. */
#define SPOOL_GRACE_MS (24LL * 3600 * 1000)

uint64_t
space_import_need(uint64_t size, const char *name, int spooled)
{
	size_t n = name ? strlen(name) : 0;
	int xlsx = n >= 5 && strcasecmp(name + n - 5, ".xlsx") == 0;

	/* Measured on the bench files: a 1M-row CSV (57 MB) grows catalog.db
	 * by ~95 MB with a WAL of ~110 MB before the checkpoint; XLSX
	 * compresses about 6x. Generous factors, never a false "fits". */
	return (spooled ? 0 : size) + size * (xlsx ? 10 : 3) +
	    SPACE_RESERVE_BYTES + SPACE_MARGIN_BYTES;
}

int
space_check(const char *data_dir, uint64_t need, const char *what)
{
	uint64_t free_b = hal_disk_free(data_dir);

	if (free_b >= need)
		return PA_OK;
	return pa_err_set(PA_ENOSPC, "disk full: not enough space for %s: about "
	    "%.1f MB needed (spool copy, catalog growth and its WAL, %.0f MB "
	    "margin), %.1f MB free in %s; free some space (posagent job prune) "
	    "and try again", what, MB(need), MB(SPACE_RESERVE_BYTES +
	    SPACE_MARGIN_BYTES), MB(free_b), data_dir);
}

static int
reserve_path(const char *data_dir, char *buf, size_t n)
{
	return hal_pathf(buf, n, "%s/run/reserve", data_dir);
}

void
space_reserve_make(const char *data_dir)
{
	char path[PATH_MAX];

	if (hal_pathf(path, sizeof(path), "%s/run", data_dir) != PA_OK ||
	    hal_mkdirs(path) != PA_OK ||
	    reserve_path(data_dir, path, sizeof(path)) != PA_OK)
		return;
	(void)hal_prealloc_file(path, SPACE_RESERVE_BYTES);
}

int
space_reserve_release(const char *data_dir)
{
	char path[PATH_MAX];

	if (reserve_path(data_dir, path, sizeof(path)) != PA_OK)
		return 0;
	return unlink(path) == 0;
}

static int64_t
db_bytes(const char *data_dir)
{
	static const char *const names[] = { "agent.db", "agent.db-wal" };
	char path[PATH_MAX];
	struct stat st;
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < 2; i++)
		if (hal_pathf(path, sizeof(path), "%s/%s", data_dir, names[i]) ==
		    PA_OK && stat(path, &st) == 0)
			sum += (int64_t)st.st_size;
	return sum;
}

/* Delete the oldest finished jobs while the live pages exceed max bytes. */
static int
prune_to_size(adb *a, int64_t max, long *n)
{
	struct adb_pages pg;
	long deleted;
	int rc;

	for (;;) {
		if ((rc = adb_pages(a, &pg)) != PA_OK)
			return rc;
		if (pg.page_size <= 0 || (pg.pages - pg.free_pages) * pg.page_size <=
		    max)
			return PA_OK;
		if ((rc = adbq_prune_oldest(a, &deleted)) != PA_OK)
			return rc;
		if (deleted == 0)
			return PA_OK; /* only running jobs (and the outbox) left */
		*n += deleted;
	}
}

static int
prune_spool(adb *a, const char *data_dir, long *n)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d = NULL;
	int rc, used;

	if ((rc = hal_pathf(dir, sizeof(dir), "%s/spool", data_dir)) != PA_OK)
		return rc;
	if ((d = opendir(dir)) == NULL)
		return PA_OK; /* nothing spooled yet */
	while ((de = readdir(d)) != NULL) {
		/* Only content-addressed copies: 64 hex digits. */
		if (strlen(de->d_name) != 64 ||
		    strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		if (hal_pathf(path, sizeof(path), "%s/%s", dir, de->d_name) != PA_OK ||
		    stat(path, &sb) != 0 ||
		    (int64_t)sb.st_mtime * 1000 > hal_sys.now_ms() - SPOOL_GRACE_MS)
			continue;
		if ((rc = adbq_sha_used(a, de->d_name, &used)) != PA_OK)
			goto out;
		if (!used && unlink(path) == 0)
			(*n)++;
	}
	rc = PA_OK;
out:
	closedir(d);
	return rc;
}

/* Give the free pages back to the filesystem. */
static int
return_space(adb *a, const char *data_dir)
{
	struct adb_pages pg;
	int rc;

	if ((rc = adb_pages(a, &pg)) != PA_OK)
		return rc;
	if (pg.incremental && pg.free_pages > 0) {
		rc = adb_vacuum_incremental(a);
	} else if (!pg.incremental && pg.free_pages * pg.page_size > (1 << 20) &&
	    pg.free_pages * 4 > pg.pages) {
		/* A data dir made before incremental vacuum: one VACUUM turns it
		 * on. It rewrites the live pages, so it needs room for them. */
		if (space_check(data_dir, (uint64_t)((pg.pages - pg.free_pages) *
		    pg.page_size) + SPACE_MARGIN_BYTES, "VACUUM of agent.db") ==
		    PA_OK)
			rc = adb_vacuum_full(a);
	}
	/* The WAL holds the deletions' pages until a checkpoint; TRUNCATE
	 * gives its space back too (busy readers just make it a no-op). */
	adb_checkpoint(a);
	return rc;
}

int
space_prune(adb *a, const char *data_dir, long days, long max_mb,
    struct space_prune_report *rep)
{
	char before[32];
	long n = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->db_bytes_before = db_bytes(data_dir);
	hal_iso_ms(hal_sys.now_ms() - (int64_t)days * 86400000, before);
	if ((rc = jobq_prune(a, before, &n)) != PA_OK)
		return rc;
	rep->jobs = n;
	if ((rc = prune_to_size(a, (int64_t)max_mb << 20, &rep->jobs)) != PA_OK)
		return rc;
	if ((rc = prune_spool(a, data_dir, &rep->spool_files)) != PA_OK)
		return rc;
	rc = return_space(a, data_dir);
	rep->db_bytes_after = db_bytes(data_dir);
	return rc;
}
