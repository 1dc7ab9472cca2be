/* xlsx_zip — what is this file, and bounded streaming of its zip entries.
 *
 * Users hand us whatever "Excel file" a supplier sent: old .xls, password-
 * protected workbooks, half-downloaded mail attachments, HTML tables renamed
 * to .xls(x). Each gets a message that says what it is and what to do.
 * Entries are inflated chunk by chunk; what is really inflated is counted,
 * because the sizes in a zip directory are whatever the sender wrote. */
#include "agent/readers/xlsx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hal/hal_file.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* libzip reads the file through hal (pread at its own offset), not through
 * a FILE of its own: an injected fault then reaches the zip directory and
 * every entry's inflation, and a read error is reported as one, not as a
 * damaged file. The callback's protocol is libzip's zip_source_function(3). */
struct zsrc {
	struct xlsx__zip *z;     /* read_errno is set there */
	int fd;
	uint64_t size, pos;
	zip_error_t err;
};

static zip_int64_t
zsrc_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct zsrc *s = ud;
	zip_int64_t off;
	size_t got;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		s->pos = 0;
		return 0;
	case ZIP_SOURCE_READ:
		if (hal_pread(s->fd, data, (size_t)len, s->pos, &got) != PA_OK) {
			s->z->read_errno = errno ? errno : EIO;
			zip_error_set(&s->err, ZIP_ER_READ, errno);
			return -1;
		}
		s->pos += got;
		return (zip_int64_t)got;
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT: {
		zip_stat_t *st = data;

		if (len < sizeof(*st)) {
			zip_error_set(&s->err, ZIP_ER_INVAL, 0);
			return -1;
		}
		zip_stat_init(st);
		st->size = s->size;
		st->valid |= ZIP_STAT_SIZE;
		return (zip_int64_t)sizeof(*st);
	}
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&s->err, data, len);
	case ZIP_SOURCE_SEEK:
		if ((off = zip_source_seek_compute_offset(s->pos, s->size, data, len,
		    &s->err)) < 0)
			return -1;
		s->pos = (uint64_t)off;
		return 0;
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)s->pos;
	case ZIP_SOURCE_FREE:
		hal_close(s->fd);
		zip_error_fini(&s->err);
		pa_free(s);
		return 0;
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN,
		    ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
		    ZIP_SOURCE_ERROR, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
		    ZIP_SOURCE_FREE, ZIP_SOURCE_SUPPORTS, -1);
	default:
		zip_error_set(&s->err, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* A read-only archive over fd (size bytes). fd is transferred: the
 * archive closes it (zip_discard), and so does a failure here. PA_ENOMEM;
 * PA_EIO or PA_EFORMAT naming the file. */
static int
zsrc_open(struct xlsx__zip *z, int fd, uint64_t size, const char *name,
    zip_t **za)
{
	zip_source_t *src = NULL;
	struct zsrc *s;
	zip_error_t ze;
	int rc;

	*za = NULL;
	zip_error_init(&ze);
	if ((s = pa_calloc(1, sizeof(*s))) == NULL) {
		hal_close(fd);
		rc = PA_ENOMEM;
		goto out;
	}
	s->z = z;
	s->fd = fd;
	s->size = size;
	zip_error_init(&s->err);
	if ((src = zip_source_function_create(zsrc_cb, s, &ze)) == NULL) {
		zsrc_cb(s, NULL, 0, ZIP_SOURCE_FREE);   /* closes fd */
		rc = pa_err_set(PA_ENOMEM, "%s: out of memory reading the zip "
		    "directory", name);     /* libzip's only failure here */
		goto out;
	}
	if ((*za = zip_open_from_source(src, ZIP_RDONLY, &ze)) != NULL) {
		rc = PA_OK;     /* src (and fd) belong to the archive now */
		goto out;
	}
	zip_source_free(src);   /* closes fd */
	if (z->read_errno) {
		rc = pa_err_set(PA_EIO, "cannot read %s: %s", name,
		    strerror(z->read_errno));
		goto out;
	}
	switch (zip_error_code_zip(&ze)) {
	case ZIP_ER_MEMORY:
		rc = pa_err_set(PA_ENOMEM, "%s: out of memory reading the zip "
		    "directory", name);
		break;
	case ZIP_ER_READ:
	case ZIP_ER_SEEK:
	case ZIP_ER_OPEN:
		rc = pa_err_set(PA_EIO, "cannot read %s: %s", name,
		    strerror(zip_error_code_system(&ze)));
		break;
	case ZIP_ER_NOZIP:
		/* It starts like a zip but has no end of central directory: the
		 * tail is missing. */
		rc = pa_err_set(PA_EFORMAT, "%s is damaged (truncated zip: the "
		    "end of the file is missing); ask the sender for the file "
		    "again", name);
		break;
	default:
		rc = pa_err_set(PA_EFORMAT, "%s is damaged (corrupt zip: %s); ask "
		    "the sender for the file again", name, zip_error_strerror(&ze));
		break;
	}
out:
	zip_error_fini(&ze);
	return rc;
}

/* [MS-CFB] 2.2: compound file signature. */
static const unsigned char ole2_magic[8] = {
	0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1
};

enum ole2_kind { OLE2_UNKNOWN, OLE2_XLS, OLE2_ENCRYPTED, OLE2_DOC, OLE2_PPT };

/* Does the 128-byte directory entry d ([MS-CFB] 2.6) name a stream called
 * name? Names are UTF-16LE with a byte length that counts the NUL. */
static int
ole2_entry_is(const unsigned char *d, const char *name)
{
	size_t i, n = strlen(name);

	if (d[64] != (unsigned char)((n + 1) * 2) || d[65] != 0)
		return 0;
	if (d[66] != 2)  /* object type: stream */
		return 0;
	for (i = 0; i < n; i++)
		if (d[2 * i] != (unsigned char)name[i] || d[2 * i + 1] != 0)
			return 0;
	return d[2 * n] == 0 && d[2 * n + 1] == 0;
}

/* Which Office file is this compound document? Directory sectors can be
 * anywhere, but sectors are 512 or 4096 bytes after a 512-byte header, so
 * every directory entry starts on a 128-byte boundary: look at those, up to
 * XLSX_OLE2_SCAN_BYTES. An encrypted OOXML workbook is an OLE2 file with
 * EncryptionInfo and EncryptedPackage streams ([MS-OFFCRYPTO] 2.3.4.4). */
static enum ole2_kind
ole2_classify(int fd)
{
	unsigned char buf[16 * 1024];
	enum ole2_kind kind = OLE2_UNKNOWN;
	uint64_t pos = 512;
	size_t n, i;

	/* A read error ends the scan like the end of the file: the file is
	 * refused as .xls all the same. */
	while (pos < XLSX_OLE2_SCAN_BYTES) {
		if (hal_pread(fd, buf, sizeof(buf), pos, &n) != PA_OK || n < 128)
			break;
		for (i = 0; i + 128 <= n; i += 128) {
			const unsigned char *d = buf + i;

			if (ole2_entry_is(d, "EncryptedPackage"))
				return OLE2_ENCRYPTED;
			if (ole2_entry_is(d, "Workbook") || ole2_entry_is(d, "Book"))
				kind = OLE2_XLS;
			else if (kind == OLE2_UNKNOWN && ole2_entry_is(d, "WordDocument"))
				kind = OLE2_DOC;
			else if (kind == OLE2_UNKNOWN &&
			    ole2_entry_is(d, "PowerPoint Document"))
				kind = OLE2_PPT;
		}
		pos += n - n % 128;
	}
	return kind;
}

static int
ole2_refuse(int fd, const char *path)
{
	switch (ole2_classify(fd)) {
	case OLE2_ENCRYPTED:
		return pa_err_set(PA_EFORMAT, "%s is a password-protected "
		    "(encrypted) workbook: open it in Excel/LibreOffice, remove "
		    "the password and save it as .xlsx", path);
	case OLE2_DOC:
		return pa_err_set(PA_EFORMAT, "%s is an old Word 97-2003 "
		    "document, not a spreadsheet", path);
	case OLE2_PPT:
		return pa_err_set(PA_EFORMAT, "%s is an old PowerPoint 97-2003 "
		    "presentation, not a spreadsheet", path);
	case OLE2_XLS:
	case OLE2_UNKNOWN:
		break;
	}
	/* Unknown compound files are almost always .xls in practice. */
	return pa_err_set(PA_EFORMAT, "%s is an old Excel 97-2003 .xls workbook; "
	    "open it in Excel/LibreOffice and save it as .xlsx", path);
}

static int
has_ci(const unsigned char *s, size_t n, const char *needle)
{
	size_t i, j, m = strlen(needle);

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++) {
			unsigned char c = s[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (c != (unsigned char)needle[j])
				break;
		}
		if (j == m)
			return 1;
	}
	return 0;
}

/* Not a zip at all: say what it looks like. */
static int
refuse_other(const char *path, const unsigned char *b, size_t n)
{
	size_t i = 0;

	if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
		i = 3;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' ||
	    b[i] == '\n'))
		i++;
	if (n >= 4 && memcmp(b, "%PDF", 4) == 0)
		return pa_err_set(PA_EFORMAT, "%s is a PDF document, not a "
		    "spreadsheet; ask the supplier for the .xlsx price list", path);
	if (i < n && b[i] == '<') {
		if (has_ci(b, n, "urn:schemas-microsoft-com:office:spreadsheet"))
			return pa_err_set(PA_EFORMAT, "%s is an Excel 2003 XML "
			    "spreadsheet; open it in Excel/LibreOffice and save it "
			    "as .xlsx", path);
		if (has_ci(b, n, "<html") || has_ci(b, n, "<table"))
			return pa_err_set(PA_EFORMAT, "%s is a web page (HTML) "
			    "saved with a spreadsheet name; open it in "
			    "Excel/LibreOffice and save it as .xlsx", path);
		return pa_err_set(PA_EFORMAT, "%s is an XML document, not an "
		    ".xlsx workbook; open it in Excel/LibreOffice and save it "
		    "as .xlsx", path);
	}
	if (memchr(b, 0, n) == NULL)
		return pa_err_set(PA_EFORMAT, "%s is a text file, not an .xlsx "
		    "workbook; if it is a CSV price list, import it with a "
		    "csv_utf8 or csv_cp1251 profile", path);
	return pa_err_set(PA_EFORMAT, "%s is not an .xlsx workbook (unknown "
	    "content starting %02x %02x %02x %02x)", path, b[0],
	    n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
}

int
xlsx__zip_open(const char *path, const char *label, struct xlsx__zip *z)
{
	unsigned char head[512];
	struct hal_finfo fi;
	zip_int64_t nent;
	size_t n;
	const char *name = label ? label : path;
	int fd = -1, rc;

	memset(z, 0, sizeof(*z));
	/* Messages name the file as the user knows it, not its spool copy. */
	z->path = name;
	if ((rc = hal_open_read(path, name, &fd, &fi)) != PA_OK)
		goto out;
	if (fi.type != HAL_F_REG) {
		rc = pa_err_set(PA_EIO, "%s is not a regular file", name);
		goto out;
	}
	if ((rc = hal_pread(fd, head, sizeof(head), 0, &n)) != PA_OK) {
		rc = pa_err_wrap(rc, "cannot read %s: ", name);
		goto out;
	}
	if (n == 0) {
		rc = pa_err_set(PA_EFORMAT, "%s is empty (0 bytes); ask the "
		    "sender for the file again", name);
		goto out;
	}
	if (n >= 8 && memcmp(head, ole2_magic, 8) == 0) {
		rc = ole2_refuse(fd, name);
		goto out;
	}
	if (n < 4 || head[0] != 'P' || head[1] != 'K' ||
	    !((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6) ||
	    (head[2] == 7 && head[3] == 8))) {
		rc = refuse_other(name, head, n);
		goto out;
	}
	rc = zsrc_open(z, fd, fi.size, name, &z->za);
	fd = -1; /* transferred */
	if (rc != PA_OK)
		goto out;
	nent = zip_get_num_entries(z->za, 0);
	if (nent < 0 || (unsigned long long)nent > RS_MAX_ZIP_ENTRIES) {
		rc = pa_err_set(PA_ELIMIT, "%s: the zip has %lld entries, more "
		    "than the %u allowed (RS_MAX_ZIP_ENTRIES)", name,
		    (long long)nent, RS_MAX_ZIP_ENTRIES);
		goto out;
	}
	rc = PA_OK;
out:
	hal_close(fd);
	if (rc != PA_OK)
		xlsx__zip_close(z);
	return rc;
}

void
xlsx__zip_close(struct xlsx__zip *z)
{
	if (z == NULL)
		return;
	if (z->za != NULL)
		zip_discard(z->za);  /* read-only: nothing to write back */
	z->za = NULL;
}

int
xlsx__zip_has(struct xlsx__zip *z, const char *name)
{
	return zip_name_locate(z->za, name, ZIP_FL_NOCASE) >= 0;
}

/* Read a small entry (at most n-1 bytes) as a string, for sniffing. */
static void
read_small(struct xlsx__zip *z, const char *name, char *buf, size_t n)
{
	struct xlsx__entry e;
	long got;

	buf[0] = '\0';
	if (xlsx__entry_open(z, name, 4096, &e) != PA_OK)
		return;
	got = xlsx__entry_read(z, &e, buf, n - 1);
	buf[got > 0 ? got : 0] = '\0';
	xlsx__entry_close(&e);
}

int
xlsx__zip_not_workbook(struct xlsx__zip *z)
{
	const char *p = z->path, *first;
	char mime[128];
	zip_int64_t n;

	if (xlsx__zip_has(z, "word/document.xml"))
		return pa_err_set(PA_EFORMAT, "%s is a Word document (.docx), "
		    "not an Excel workbook", p);
	if (xlsx__zip_has(z, "ppt/presentation.xml"))
		return pa_err_set(PA_EFORMAT, "%s is a PowerPoint presentation "
		    "(.pptx), not an Excel workbook", p);
	if (xlsx__zip_has(z, "mimetype")) {
		read_small(z, "mimetype", mime, sizeof(mime));
		pa_err_clear();
		if (strstr(mime, "opendocument.spreadsheet") != NULL)
			return pa_err_set(PA_EFORMAT, "%s is an OpenDocument "
			    "spreadsheet (.ods); open it in LibreOffice/Excel and "
			    "save it as .xlsx", p);
		if (strstr(mime, "opendocument") != NULL)
			return pa_err_set(PA_EFORMAT, "%s is an OpenDocument file "
			    "(%.60s), not an Excel workbook", p, mime);
	}
	n = zip_get_num_entries(z->za, 0);
	first = n > 0 ? zip_get_name(z->za, 0, 0) : NULL;
	if (first == NULL)
		return pa_err_set(PA_EFORMAT, "%s is an empty zip archive, not an "
		    "Excel workbook", p);
	return pa_err_set(PA_EFORMAT, "%s is a zip archive of %lld file(s) "
	    "(first: \"%.80s\") but not an Excel workbook: it has no "
	    "xl/workbook.xml", p, (long long)n, first);
}

int
xlsx__entry_open(struct xlsx__zip *z, const char *name,
    unsigned long long limit, struct xlsx__entry *e)
{
	zip_stat_t st;
	zip_int64_t idx;
	size_t nlen = strlen(name);
	int rc;

	memset(e, 0, sizeof(*e));
	if (nlen >= sizeof(e->name))
		return PA_ENOTFOUND;
	memcpy(e->name, name, nlen + 1);
	e->limit = limit;
	if ((idx = zip_name_locate(z->za, name, ZIP_FL_NOCASE)) < 0)
		return PA_ENOTFOUND;
	zip_stat_init(&st);
	if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &st) != 0 ||
	    !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
		rc = pa_err_set(PA_EFORMAT, "%s is damaged: no sizes for %s",
		    z->path, name);
		goto out;
	}
	e->size = st.size;
	e->comp = st.comp_size;
	/* Refuse before inflating anything when the directory already
	 * admits a bomb; entry_read re-checks what really comes out. */
	if (e->size > limit) {
		rc = pa_err_set(PA_ELIMIT, "%s: %s would inflate to %llu bytes, "
		    "more than the %llu allowed (RS_MAX_ZIP_ENTRY_BYTES)",
		    z->path, name, e->size, limit);
		goto out;
	}
	if (e->size > XLSX_RATIO_GRACE_BYTES &&
	    e->size / (e->comp ? e->comp : 1) > RS_MAX_ZIP_RATIO) {
		rc = pa_err_set(PA_ELIMIT, "%s: %s is compressed %llu:1, more "
		    "than the %u:1 allowed (RS_MAX_ZIP_RATIO): a zip bomb?",
		    z->path, name, e->size / (e->comp ? e->comp : 1),
		    RS_MAX_ZIP_RATIO);
		goto out;
	}
	if ((e->zf = zip_fopen_index(z->za, (zip_uint64_t)idx, 0)) == NULL) {
		zip_error_t *ze = zip_get_error(z->za);

		if (z->read_errno) {
			rc = pa_err_set(PA_EIO, "cannot read %s (%s): %s", z->path,
			    name, strerror(z->read_errno));
			goto out;
		}
		switch (zip_error_code_zip(ze)) {
		case ZIP_ER_NOPASSWD:
		case ZIP_ER_WRONGPASSWD:
		case ZIP_ER_ENCRNOTSUPP:
			rc = pa_err_set(PA_EFORMAT, "%s is password-protected "
			    "(encrypted zip): remove the password and save it as "
			    ".xlsx", z->path);
			break;
		case ZIP_ER_MEMORY:
			rc = pa_err_set(PA_ENOMEM, "%s: out of memory opening %s",
			    z->path, name);
			break;
		default:
			rc = pa_err_set(PA_EFORMAT, "%s is damaged: cannot open "
			    "%s (%s)", z->path, name, zip_error_strerror(ze));
			break;
		}
		goto out;
	}
	rc = PA_OK;
out:
	return rc;
}

long
xlsx__entry_read(struct xlsx__zip *z, struct xlsx__entry *e, void *buf,
    size_t n)
{
	zip_int64_t got;
	unsigned long long comp = e->comp ? e->comp : 1;

	got = zip_fread(e->zf, buf, n);
	if (got < 0) {
		zip_error_t *ze = zip_file_get_error(e->zf);

		if (zip_error_code_zip(ze) == ZIP_ER_MEMORY)
			return pa_err_set(PA_ENOMEM, "%s: out of memory "
			    "inflating %s", z->path, e->name);
		if (z->read_errno)
			return pa_err_set(PA_EIO, "cannot read %s (%s): %s",
			    z->path, e->name, strerror(z->read_errno));
		return pa_err_set(PA_EFORMAT, "%s is damaged: %s cannot be "
		    "read (%s)", z->path, e->name, zip_error_strerror(ze));
	}
	e->done += (unsigned long long)got;
	z->total += (unsigned long long)got;
	if (e->done > e->size)
		return pa_err_set(PA_EFORMAT, "%s is damaged: %s inflates to "
		    "more than the %llu bytes its zip header declares",
		    z->path, e->name, e->size);
	if (e->done > e->limit)
		return pa_err_set(PA_ELIMIT, "%s: %s inflates to more than %llu "
		    "bytes", z->path, e->name, e->limit);
	if (e->done > XLSX_RATIO_GRACE_BYTES && e->done / comp > RS_MAX_ZIP_RATIO)
		return pa_err_set(PA_ELIMIT, "%s: %s is compressed more than "
		    "%u:1 (RS_MAX_ZIP_RATIO): a zip bomb?", z->path, e->name,
		    RS_MAX_ZIP_RATIO);
	if (z->total > XLSX_MAX_TOTAL_BYTES)
		return pa_err_set(PA_ELIMIT, "%s: the workbook inflates to more "
		    "than %llu bytes in all (XLSX_MAX_TOTAL_BYTES)", z->path,
		    XLSX_MAX_TOTAL_BYTES);
	return (long)got;
}

void
xlsx__entry_close(struct xlsx__entry *e)
{
	if (e == NULL || e->zf == NULL)
		return;
	zip_fclose(e->zf);
	e->zf = NULL;
}
