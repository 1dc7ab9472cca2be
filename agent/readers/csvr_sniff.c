/* csvr_sniff — the CSV reader's encoding verdict: is a file given a
 * csv_cp1251 profile really UTF-8, or one given csv_utf8 really
 * Windows-1251? Split from csvr.c (issue #15: file size); internal to
 * agent/readers. */
#include "agent/readers/csvr_sniff.h"

#include "hal/pa_err.h"
#include "hal/pa_utf8.h"

#define CSVR_SNIFF_BAD_LINES 3     /* csv_utf8: that many bad lines, no good
                                    * character: not UTF-8 */

/* A CP1251 file holding Cyrillic is never well-formed UTF-8 (lowercase
 * letters E0-FF are lead bytes that need 80-BF after them), so a chunk
 * whose non-ASCII bytes are all well-formed UTF-8 is a UTF-8 file given a
 * csv_cp1251 profile. Decoding it would store mojibake (DESIGN §5), so it
 * is refused. The verdict comes from the first chunk with non-ASCII bytes.
 *
 * The reverse the same way (issue #9): under a csv_utf8 profile, when the
 * first CSVR_SNIFF_BAD_LINES lines holding non-ASCII bytes hold not one
 * well-formed UTF-8 character, the file is not UTF-8 (a Windows-1251 file
 * with an ASCII header made every row an error row and the job ended
 * done). A stray bad byte in a UTF-8 or ASCII file stays one error row. */
static int
sniff_utf8(struct csvr__sniff *sn, const unsigned char *buf, size_t len,
    int eof, const char *name, size_t i)
{
	size_t n;
	int line_bad = 0;

	while (i < len) {
		if (buf[i] == '\n') {
			line_bad = 0;
			i++;
			continue;
		}
		if (buf[i] < 0x80) {
			i++;
			continue;
		}
		n = pa_utf8_seq((const char *)buf + i, len - i);
		if (n > 0) {
			sn->sniffing = 0;        /* well-formed UTF-8: it is UTF-8 */
			return PA_OK;
		}
		if (!eof && len - i < 4)
			break;                  /* cut by this chunk's end */
		if (!line_bad && ++sn->bad_lines >= CSVR_SNIFF_BAD_LINES) {
			sn->sniffing = 0;
			return pa_err_set(PA_EFORMAT, "%s: this text is not UTF-8 "
			    "(%d lines with non-ASCII bytes and not one UTF-8 "
			    "character among them: Windows-1251?); set "
			    "\"file_format\": \"csv_cp1251\" in the profile, or "
			    "save the file as UTF-8", name, CSVR_SNIFF_BAD_LINES);
		}
		line_bad = 1;
		i++;
	}
	if (eof)
		sn->sniffing = 0;        /* too little to judge: error rows */
	return PA_OK;
}

int
csvr__sniff(struct csvr__sniff *sn, int cp1251, const unsigned char *buf,
    size_t len, int eof, int cont, const char *name, unsigned long row)
{
	size_t i = 0, n;
	int multi = 0;

	/* A character cut by the previous chunk's end: skip its tail. */
	while (cont && i < 3 && i < len && (buf[i] & 0xC0) == 0x80)
		i++;
	if (!cp1251)
		return sniff_utf8(sn, buf, len, eof, name, i);
	while (i < len) {
		if (buf[i] < 0x80) {
			i++;
			continue;
		}
		n = pa_utf8_seq((const char *)buf + i, len - i);
		if (n == 0) {
			if (!eof && len - i < 4)
				break;          /* cut by this chunk's end */
			sn->sniffing = 0;        /* not UTF-8 */
			return PA_OK;
		}
		multi = 1;
		i += n;
	}
	if (!multi)
		return PA_OK;   /* ASCII so far: judge the next chunk */
	sn->sniffing = 0;
	return pa_err_set(PA_EFORMAT, "%s row %lu: this is UTF-8 text, not "
	    "Windows-1251; set \"file_format\": \"csv_utf8\" in the profile",
	    name, row);
}
