/*-------------------------------------------------------------------------
 *
 * sink_citus.c
 *	  Rows into a table of Citus's (distributed or reference), whose rows
 *	  live in shards on the worker nodes: through Citus's own COPY path,
 *	  which the in-process COPY of sink.c does not take.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "privileges.h"
#include "sink_internal.h"

/*
 * Is relid a table of Citus's (distributed, reference, or a local table in
 * its metadata)?  Its rows live in shards, which only Citus's COPY path
 * reaches: a COPY run inside this process would fill the coordinator's
 * shell table, where no query sees the rows.
 */
bool
sink_is_citus_table(Oid relid)
{
	bool		citus;
	int			nestlevel;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return false;
	nestlevel = pinned_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)}, NULL,
							  true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_catalog.pg_dist_partition");
	citus = SPI_processed > 0;
	pinned_spi_finish(nestlevel);
	return citus;
}

/*
 * The batch into a table of Citus's, through Citus's own COPY path, which
 * sends each row to its shard: the batch is written as COPY text to a file
 * of the server's, and COPY ... FROM that file runs through SPI (COPY from
 * a file goes through the utility hooks, Citus's among them) in the
 * batch's transaction, which Citus commits on the nodes with two-phase
 * commit, the checkpoint row with it.  Needs the rights of COPY from a
 * file (pg_read_server_files), as every task's owner has.
 */
uint64
sink_copy_into_citus(const SourceTable *table, const char *dst_schema, const char *dst_tb,
				SinkRowFeed feed, SinkLineFeed line_feed, void *arg)
{
	char	   *dir = psprintf("%s/%s", DataDir, PG_TEMP_FILES_DIR);
	char	   *path = psprintf("%s/ape_resume_citus_%d.copy", dir, MyProcPid);
	char	  **values = palloc0(sizeof(char *) * Max(table->ncolumns, 1));
	int		   *lengths = palloc0(sizeof(int) * Max(table->ncolumns, 1));
	StringInfoData line;
	StringInfoData cols;
	FILE	   *f;
	uint64		rows = 0;
	int			nestlevel;

	(void) MakePGDirectory(dir);
	f = AllocateFile(path, PG_BINARY_W);
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	initStringInfo(&line);
	for (;;)
	{
		const char *data;
		int			len;

		resetStringInfo(&line);
		if (line_feed != NULL)
		{
			if (!line_feed(arg, &data, &len))
				break;
		}
		else
		{
			if (!feed(arg, values, lengths))
				break;
			for (int i = 0; i < table->ncolumns; i++)
			{
				if (i > 0)
					appendStringInfoChar(&line, '\t');
				if (values[i] == NULL)
					appendStringInfoString(&line, "\\N");
				else
					sink_append_copy_value(&line, values[i], lengths[i]);
			}
			appendStringInfoChar(&line, '\n');
			data = line.data;
			len = line.len;
		}
		if (fwrite(data, 1, len, f) != (size_t) len)
		{
			int			save = errno;

			FreeFile(f);
			errno = save;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
	}
	if (FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", path)));

	initStringInfo(&cols);
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(source_column_target(&table->columns[i])));
	nestlevel = pinned_spi_connect();
	if (SPI_execute(psprintf("COPY %s (%s) FROM %s WITH (ENCODING 'UTF8')",
							 sink_qualified_name(dst_schema, dst_tb), cols.data,
							 quote_literal_cstr(path)), false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not copy into %s", sink_qualified_name(dst_schema, dst_tb));
	rows = SPI_processed;
	pinned_spi_finish(nestlevel);
	if (unlink(path) != 0)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
	return rows;
}
