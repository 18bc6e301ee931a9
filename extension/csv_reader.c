/*-------------------------------------------------------------------------
 *
 * csv_reader.c
 *	  Record-at-a-time CSV reading on top of libcsv.
 *
 * libcsv does the RFC 4180 work (quoted fields with embedded delimiters,
 * doubled quotes and line breaks; CR, LF or CRLF line ends).  This wrapper
 * adds what an importer needs to report errors usefully: the caller feeds
 * one physical line at a time (ended by LF, CRLF or a CR not followed by
 * LF: where libcsv may end a record), so every record is delivered
 * together with the physical line on which it starts, and parse errors
 * name their line and, once the header is known, their column.
 *
 * libcsv allocates through palloc here, in the memory context that was
 * current at csv_reader_init, so an ERROR raised from a record callback
 * (or anywhere else) cannot leak the parser's buffer.
 *
 * extension/csv_reader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "csv_reader.h"

/* libcsv's state "no field of a row begun yet" (ROW_NOT_BEGUN in libcsv.c) */
#define CSV_READER_ROW_NOT_BEGUN 0

/*
 * csv_reader_realloc lets libcsv grow its buffer in the current memory
 * context; realloc(NULL, n) must behave like malloc.
 */
static void *
csv_reader_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return palloc(size);
	return repalloc(ptr, size);
}

/* csv_reader_free releases a buffer obtained from csv_reader_realloc. */
static void
csv_reader_free(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

/*
 * csv_reader_never_space: no character is blank padding.  libcsv trims
 * spaces and tabs around unquoted fields by default, which RFC 4180 does
 * not allow: the bytes of a field are kept as they are.
 */
static int
csv_reader_never_space(unsigned char c)
{
	return 0;
}

/* csv_reader_field is libcsv's per-field callback: keep a copy. */
static void
csv_reader_field(void *data, size_t len, void *arg)
{
	CsvReader  *reader = (CsvReader *) arg;
	MemoryContext old;

	if (!reader->record_begun)
	{
		reader->record_begun = true;
		MemoryContextReset(reader->record_cxt);
		reader->nfields = 0;
	}
	if (reader->nfields == reader->maxfields)
	{
		reader->maxfields *= 2;
		reader->fields = repalloc(reader->fields,
								  reader->maxfields * sizeof(char *));
		reader->lengths = repalloc(reader->lengths,
								   reader->maxfields * sizeof(size_t));
	}
	old = MemoryContextSwitchTo(reader->record_cxt);
	reader->fields[reader->nfields] = pnstrdup(data ? data : "", len);
	MemoryContextSwitchTo(old);
	reader->lengths[reader->nfields] = len;
	reader->nfields++;
}

/* csv_reader_record is libcsv's end-of-record callback. */
static void
csv_reader_record(int terminator, void *arg)
{
	CsvReader  *reader = (CsvReader *) arg;

	if (!reader->record_begun)
		return;
	reader->nrecords++;
	reader->callback(reader->callback_arg, reader->nfields, reader->fields,
					 reader->lengths, reader->record_line);
	reader->record_begun = false;
	/* the next record starts on this line at the earliest */
	reader->record_line = reader->line_no;
}

/*
 * csv_reader_init prepares a reader that delivers each record to callback.
 * The reader's memory lives in the current memory context.
 */
void
csv_reader_init(CsvReader *reader, CsvRecordCallback callback,
				void *callback_arg)
{
	memset(reader, 0, sizeof(CsvReader));
	if (csv_init(&reader->parser, CSV_STRICT | CSV_STRICT_FINI |
				 CSV_APPEND_NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize the CSV parser")));
	csv_set_realloc_func(&reader->parser, csv_reader_realloc);
	csv_set_free_func(&reader->parser, csv_reader_free);
	csv_set_space_func(&reader->parser, csv_reader_never_space);
	reader->record_cxt = AllocSetContextCreate(CurrentMemoryContext,
											   "CSV record",
											   ALLOCSET_DEFAULT_SIZES);
	reader->parser_cxt = CurrentMemoryContext;
	reader->maxfields = 64;
	reader->fields = palloc(reader->maxfields * sizeof(char *));
	reader->lengths = palloc(reader->maxfields * sizeof(size_t));
	reader->callback = callback;
	reader->callback_arg = callback_arg;
	reader->record_line = 1;
}

/*
 * csv_reader_set_column_names lets parse errors name the column by its
 * header name; the array must live as long as the reader.
 */
void
csv_reader_set_column_names(CsvReader *reader, char **column_names,
							int ncolumns)
{
	reader->column_names = column_names;
	reader->ncolumns = ncolumns;
}

/*
 * current_field names the field libcsv is parsing, for an error: the
 * fields before it have been delivered to csv_reader_field.  By header
 * name once the header is known, else by position.
 */
static char *
current_field(CsvReader *reader)
{
	int			index = reader->record_begun ? reader->nfields : 0;

	if (index < reader->ncolumns)
		return psprintf("column \"%s\"", reader->column_names[index]);
	return psprintf("field %d", index + 1);
}

/*
 * csv_reader_feed_line parses one physical line (with its line end, if it
 * has one: LF, CRLF or a CR not followed by LF; a CRLF is never split
 * between two calls).  Lines must be fed in order; line_no is the line's
 * number.
 */
void
csv_reader_feed_line(CsvReader *reader, const char *data, size_t len,
					 int64 line_no)
{
	size_t		done;
	MemoryContext old;

	reader->line_no = line_no;
	/* a record that has not begun yet will begin on this line or later */
	if (reader->parser.pstate == CSV_READER_ROW_NOT_BEGUN &&
		!reader->record_begun)
		reader->record_line = line_no;

	/* libcsv (re)allocates its buffer in the current memory context */
	old = MemoryContextSwitchTo(reader->parser_cxt);
	done = csv_parse(&reader->parser, data, len, csv_reader_field,
					 csv_reader_record, reader);
	MemoryContextSwitchTo(old);
	if (done != len)
	{
		if (csv_error(&reader->parser) == CSV_EPARSE)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("malformed CSV quoting in %s at line %lld",
							current_field(reader), (long long) line_no),
					 errdetail("A quote may only open a field, close it just before a delimiter or line end, or be doubled inside a quoted field.")));
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("could not parse CSV at line %lld: %s",
						(long long) line_no,
						csv_strerror(csv_error(&reader->parser)))));
	}
}

/*
 * csv_reader_finish delivers the last record when the input does not end
 * with a line end, refuses an unterminated quoted field, and frees the
 * parser.
 */
void
csv_reader_finish(CsvReader *reader)
{
	MemoryContext old = MemoryContextSwitchTo(reader->parser_cxt);
	int			rc;

	rc = csv_fini(&reader->parser, csv_reader_field, csv_reader_record,
				  reader);
	MemoryContextSwitchTo(old);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("unterminated quoted field in %s of the record starting at line %lld",
						current_field(reader), (long long) reader->record_line)));
	csv_free(&reader->parser);
	MemoryContextDelete(reader->record_cxt);
}
