/* hal: the durable spool write (with injected faults through hal_sys), ISO
 * time round trips, path formatting and secret-file checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/hal.h"
#include "hal/hal_fault.h"
#include "hal/hal_file.h"
#include "hal/pa_err.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pa-test-hal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
count_entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	int n = 0;

	assert_non_null(dh);
	/* Temp files are dotfiles: count them too. */
	while ((de = readdir(dh)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(dh);
	return n;
}

static void
test_spool_is_content_addressed(void **state)
{
	char src[128], spool[128], hex[65], path[256];
	uint64_t size = 0;
	struct stat st;

	(void)state;
	snprintf(src, sizeof(src), "%s/in.csv", dir);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	assert_int_equal(hal_mkdirs(spool), PA_OK);
	write_file(src, "abc");
	assert_int_equal(hal_spool_file(src, spool, hex, &size), PA_OK);
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	snprintf(path, sizeof(path), "%s/%s", spool, hex);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(hal_spool_file(src, spool, hex, &size), PA_OK);
	assert_int_equal(count_entries(spool), 1);
}

static ssize_t
enospc_write(int fd, const void *buf, size_t n)
{
	(void)fd;
	(void)buf;
	(void)n;
	errno = ENOSPC;
	return -1;
}

static void
test_spool_write_failure_leaves_nothing_behind(void **state)
{
	ssize_t (*saved)(int, const void *, size_t) = hal_sys.write;
	char src[128], spool[128], hex[65];
	uint64_t size = 0;
	int rc;

	(void)state;
	snprintf(src, sizeof(src), "%s/in.csv", dir);
	snprintf(spool, sizeof(spool), "%s/spool2", dir);
	assert_int_equal(hal_mkdirs(spool), PA_OK);
	write_file(src, "price list");
	hal_sys.write = enospc_write;
	pa_err_clear();
	rc = hal_spool_file(src, spool, hex, &size);
	hal_sys.write = saved;
	assert_int_equal(rc, PA_ENOSPC);   /* disk full has its own code (issue #8) */
	assert_non_null(strstr(pa_err_msg(rc), "No space left"));
	assert_int_equal(count_entries(spool), 0);
}

static int
failing_fsync(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

static void
test_spool_fsync_failure_is_reported(void **state)
{
	int (*saved)(int) = hal_sys.fsync;
	char src[128], spool[128], hex[65];
	uint64_t size = 0;
	int rc;

	(void)state;
	snprintf(src, sizeof(src), "%s/in2.csv", dir);
	snprintf(spool, sizeof(spool), "%s/spool3", dir);
	assert_int_equal(hal_mkdirs(spool), PA_OK);
	write_file(src, "other content");
	hal_sys.fsync = failing_fsync;
	rc = hal_spool_file(src, spool, hex, &size);
	hal_sys.fsync = saved;
	assert_int_equal(rc, PA_EIO);
	assert_non_null(strstr(pa_err_msg(rc), "fsync"));
	assert_int_equal(count_entries(spool), 0);
}

static void
test_iso_round_trip_keeps_milliseconds(void **state)
{
	char buf[32];
	int64_t t = 0;

	(void)state;
	hal_iso_ms(1795669200123LL, buf);
	assert_string_equal(buf, "2026-11-26T05:00:00.123Z");
	assert_int_equal(hal_iso_parse(buf, &t), PA_OK);
	assert_int_equal(t, 1795669200123LL);
	assert_int_equal(hal_iso_parse("26.11.2026", &t), PA_EINVAL);
}

static void
test_pathf_refuses_truncation(void **state)
{
	char small[8];

	(void)state;
	assert_int_equal(hal_pathf(small, sizeof(small), "%s/%s", "abc", "def"),
	    PA_OK);
	assert_int_equal(hal_pathf(small, sizeof(small), "%s/%s", "abcd", "efgh"),
	    PA_EINVAL);
}

static void
test_secret_file_readable_by_others_is_refused(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/token", dir);
	write_file(path, "t0ken");
	chmod(path, 0644);
	assert_int_equal(hal_check_secret_file(path), PA_EPERM);
	assert_non_null(strstr(pa_err_msg(PA_EPERM), "chmod 600"));
	chmod(path, 0600);
	assert_int_equal(hal_check_secret_file(path), PA_OK);
}

/* Issue #8: a holder unlinks its lock file just before unlocking. Whoever
 * opened the old file and locks it must not believe it holds the lock
 * while another process locks the new file at the path. */
static void
test_lock_is_the_file_at_the_path(void **state)
{
	char path[128];
	int a = -1, b = -1, stale;

	(void)state;
	snprintf(path, sizeof(path), "%s/job.lock", dir);
	assert_int_equal(hal_lock_file(path, &a), PA_OK);
	assert_int_equal(hal_lock_file(path, &b), PA_ELOCKED);
	stale = open(path, O_RDWR);           /* a waiter opened this inode */
	assert_true(stale >= 0);
	hal_lock_drop(path, a);               /* unlinked while held */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(hal_lock_file(path, &b), PA_OK);   /* a fresh file */
	/* The stale inode can be flocked, but it is not the path's file. */
	assert_int_equal(flock(stale, LOCK_EX | LOCK_NB), 0);
	{
		struct stat x, y;
		assert_int_equal(fstat(stale, &x), 0);
		assert_int_equal(stat(path, &y), 0);
		assert_true(x.st_ino != y.st_ino);
	}
	close(stale);
	hal_lock_drop(path, b);
}

/* issue #9: -c DIRECTORY read as an empty config; a FIFO or /dev/zero hung. */
static void
test_open_regular_refuses_what_is_not_a_small_file(void **state)
{
	char path[128];
	int fd = -2;

	(void)state;
	assert_int_equal(hal_open_regular(dir, 1024, &fd), PA_EFORMAT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(pa_err_msg(PA_EFORMAT), "is a directory"));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hal_open_regular(path, 1024, &fd), PA_EFORMAT);
	assert_non_null(strstr(pa_err_msg(PA_EFORMAT), "not a regular file"));
	assert_int_equal(hal_open_regular("/dev/zero", 1024, &fd), PA_EFORMAT);
	snprintf(path, sizeof(path), "%s/big", dir);
	write_file(path, "0123456789");
	assert_int_equal(hal_open_regular(path, 9, &fd), PA_ELIMIT);
	assert_int_equal(hal_open_regular(path, 10, &fd), PA_OK);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(hal_open_regular(path, 10, &fd), PA_ENOTFOUND);
}

/* issue #9: a data directory removed and made again is another file. */
static void
test_check_same_sees_removed_and_replaced(void **state)
{
	struct hal_file_id id;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/data", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(hal_path_id(path, &id), PA_OK);
	assert_int_equal(hal_check_same("data directory", path, &id), PA_OK);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(hal_check_same("data directory", path, &id), PA_EGONE);
	assert_non_null(strstr(pa_err_msg(PA_EGONE), "was removed"));
	/* Another directory under the same name: another inode, as long as
	 * the first is kept alive (else the inode number may be reused). */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(hal_path_id(path, &id), PA_OK);
	{
		char moved[140];
		snprintf(moved, sizeof(moved), "%s.old", path);
		assert_int_equal(rename(path, moved), 0);
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(hal_check_same("data directory", path, &id),
		    PA_EGONE);
		assert_non_null(strstr(pa_err_msg(PA_EGONE), "was replaced"));
	}
}

/* hal_file's calls go through hal_sys, so an armed fault reaches them:
 * only the fds opened from a matching path, after SKIP good calls. */
static void
test_fault_reaches_hal_file_reads_and_renames(void **state)
{
	char a[128], b[128], c[128], buf[4];
	struct hal_finfo fi;
	size_t got;
	int fa = -1, fb = -1;

	(void)state;
	snprintf(a, sizeof(a), "%s/bad.csv", dir);
	snprintf(b, sizeof(b), "%s/good.csv", dir);
	snprintf(c, sizeof(c), "%s/moved.csv", dir);
	write_file(a, "abcdefgh");
	write_file(b, "abcdefgh");
	assert_int_equal(hal_fault_arm("read"), PA_EINVAL);
	assert_int_equal(hal_fault_arm("read:EWHAT:bad"), PA_EINVAL);
	assert_int_equal(hal_fault_arm("read:EIO:bad:x"), PA_EINVAL);
	assert_int_equal(hal_fault_arm("read:EIO:bad:1"), PA_OK);
	assert_int_equal(hal_open_read(a, "bad.csv", &fa, &fi), PA_OK);
	assert_int_equal(fi.type, HAL_F_REG);
	assert_int_equal(fi.size, 8);
	assert_int_equal(hal_open_read(b, NULL, &fb, &fi), PA_OK);
	assert_int_equal(hal_read(fa, buf, sizeof(buf), &got), PA_OK);
	assert_int_equal(got, 4);
	assert_int_equal(hal_read(fa, buf, sizeof(buf), &got), PA_EIO);
	assert_int_equal(got, 0);
	assert_string_equal(pa_err_msg(PA_EIO), strerror(EIO));
	assert_int_equal(hal_pread(fa, buf, sizeof(buf), 0, &got), PA_OK);
	assert_int_equal(hal_read(fb, buf, sizeof(buf), &got), PA_OK);
	assert_int_equal(got, 4);
	hal_close(fa);
	hal_close(fb);
	assert_int_equal(hal_fault_arm("rename:ENOSPC:moved"), PA_OK);
	assert_int_equal(hal_rename(b, c), PA_ENOSPC);
	assert_non_null(strstr(pa_err_msg(PA_ENOSPC), "No space left"));
	assert_int_equal(hal_file_info(b, 0, &fi), PA_OK);
	hal_fault_disarm();
	assert_int_equal(hal_rename(b, c), PA_OK);
	assert_int_equal(hal_file_info(b, 0, &fi), PA_ENOTFOUND);
	assert_int_equal(hal_unlink(c), PA_OK);
	assert_int_equal(hal_unlink(c), PA_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool_is_content_addressed),
		cmocka_unit_test(test_spool_write_failure_leaves_nothing_behind),
		cmocka_unit_test(test_spool_fsync_failure_is_reported),
		cmocka_unit_test(test_iso_round_trip_keeps_milliseconds),
		cmocka_unit_test(test_pathf_refuses_truncation),
		cmocka_unit_test(test_secret_file_readable_by_others_is_refused),
		cmocka_unit_test(test_lock_is_the_file_at_the_path),
		cmocka_unit_test(test_open_regular_refuses_what_is_not_a_small_file),
		cmocka_unit_test(test_check_same_sees_removed_and_replaced),
		cmocka_unit_test(test_fault_reaches_hal_file_reads_and_renames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
