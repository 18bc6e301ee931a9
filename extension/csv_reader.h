/*-------------------------------------------------------------------------
 *
 * csv_reader.h
 *	  Record-at-a-time CSV reading on top of libcsv.
 *
 * extension/csv_reader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMMITOPT_CSV_READER_H
#define COMMITOPT_CSV_READER_H

#include <csv.h>

/*
 * Called once per complete record.  fields[i] is NUL-terminated and
 * lengths[i] its length; both are valid only during the call.  line_no is
 * the physical line (1-based) on which the record starts.
 */
typedef void (*CsvRecordCallback) (void *arg, int nfields, char **fields,
								   size_t *lengths, int64 line_no);

typedef struct CsvReader
{
	struct csv_parser parser;
	MemoryContext parser_cxt;	/* holds libcsv's buffer */
	MemoryContext record_cxt;	/* holds the fields of one record */
	char	  **fields;
	size_t	   *lengths;
	int			nfields;
	int			maxfields;
	int64		line_no;		/* physical line being fed */
	int64		record_line;	/* line where the current record starts */
	bool		record_begun;
	int64		nrecords;
	CsvRecordCallback callback;
	void	   *callback_arg;
	/* the header's column names, for messages (none until the header) */
	char	  **column_names;
	int			ncolumns;
} CsvReader;

extern void csv_reader_init(CsvReader *reader, CsvRecordCallback callback,
							void *callback_arg);
extern void csv_reader_feed_line(CsvReader *reader, const char *data,
								 size_t len, int64 line_no);
extern void csv_reader_set_column_names(CsvReader *reader,
									   char **column_names, int ncolumns);
extern void csv_reader_finish(CsvReader *reader);

#endif							/* COMMITOPT_CSV_READER_H */
