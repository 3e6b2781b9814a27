/*-------------------------------------------------------------------------
 *
 * copy_binary.h
 *	  Rows of PostgreSQL input text framed as COPY's binary format, for the
 *	  target columns' types.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_COPY_BINARY_H
#define APE_COPY_BINARY_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

/* ape_resume.binary_copy: ingest through COPY's binary format when it can */
extern bool ape_resume_binary_copy;

typedef struct CopyBinaryEncoder CopyBinaryEncoder;

/*
 * An encoder for rows of the columns attnames (a List of String) of rel, or
 * NULL when the binary format would not be faster: a column of a type
 * without a fast encoder, a database encoding other than UTF-8, or
 * ape_resume.binary_copy off.  Allocated in the current memory context.
 */
extern CopyBinaryEncoder *copy_binary_prepare(Relation rel, List *attnames);

/* The file header, before the first row. */
extern void copy_binary_header(StringInfo buf);

/*
 * Append one row: values[i] is the text of column i in PostgreSQL input
 * format (NULL for SQL NULL), lengths[i] its length.  A value the fast
 * encoder does not recognise goes through the column type's input and
 * send functions, so every value means exactly what COPY's text format
 * would make of it, errors included.
 */
extern void copy_binary_append_row(CopyBinaryEncoder *enc, StringInfo buf,
								   char **values, const int *lengths);

/* The trailer, after the last row. */
extern void copy_binary_trailer(StringInfo buf);

/*
 * The index of the column being encoded when an error interrupted
 * copy_binary_append_row, else -1.
 */
extern int	copy_binary_failed_column(const CopyBinaryEncoder *enc);

#endif							/* APE_COPY_BINARY_H */
