/* csvr_sniff — internal to the CSV reader (csvr.c): the encoding verdict
 * taken from the first chunks of a file. */
#ifndef CSVR_SNIFF_H
#define CSVR_SNIFF_H

#include <stddef.h>

struct csvr__sniff {
	int sniffing;       /* no verdict on the encoding yet; set it to start */
	int bad_lines;      /* csv_utf8: non-UTF-8 lines seen so far */
};

/* Judge the chunk buf[0..len), the file's next; eof: it is the last; cont:
 * bytes came before it (a character cut by the previous chunk's end is
 * skipped); cp1251: the profile says Windows-1251. Clears sn->sniffing once
 * there is a verdict. PA_OK, or PA_EFORMAT with a message naming name (and
 * row) when the file is not in the profile's encoding. */
int csvr__sniff(struct csvr__sniff *sn, int cp1251, const unsigned char *buf,
    size_t len, int eof, int cont, const char *name, unsigned long row);

#endif
