/*-------------------------------------------------------------------------
 *
 * source.c
 *	  What the sources share, whatever their kind: the order of table
 *	  lists, finding a column by name, and the WARNINGs that also go to
 *	  the source's reporter.  See source.h for the interface.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "source.h"

int
source_table_cmp(const ListCell *a, const ListCell *b)
{
	const SourceTable *ta = lfirst(a);
	const SourceTable *tb = lfirst(b);
	int			r = strcmp(ta->schema, tb->schema);

	return r != 0 ? r : strcmp(ta->tb, tb->tb);
}

int
source_column_index(const SourceTable *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return i;
	return -1;
}

void
source_warning(const SourceReport *report, const char *message, const char *detail)
{
	ereport(WARNING,
			(errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0));
	if (report != NULL && report->fn != NULL)
		report->fn(report->arg, "WARN", message);
}
