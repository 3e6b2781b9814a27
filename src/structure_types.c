/*-------------------------------------------------------------------------
 *
 * structure_types.c
 *	  The types of a source's own that a created table uses (structure.h):
 *	  made before the table, once per task, under one lock; and the list
 *	  of the types the task made, the only domains and composites a
 *	  column may have and the only foreign types an expression may cast to.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "checkpoint.h"
#include "name_filter.h"
#include "privileges.h"
#include "sink.h"
#include "structure.h"
#include "structure_internal.h"
#include "task_run.h"
#include "worker.h"

/* First key of the advisory lock taken while a type is looked for and made. */
#define APE_TYPE_LOCK_CLASS 0x41504554

/*
 * The types of the source's own this worker made or found made by its
 * task (structure_make_types): the only domains and composite types a
 * created table's column may have (sink_type_sql), the only types not of
 * pg_catalog an expression may cast to.
 */
static List *made_types = NIL;	/* Oids, in TopMemoryContext */

bool
structure_type_is_made(Oid typid)
{
	return OidIsValid(typid) && list_member_oid(made_types, typid);
}

static void
remember_made_type(Oid typid)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	made_types = list_append_unique_oid(made_types, typid);
	MemoryContextSwitchTo(old);
}

/* The oid of type schema.name at the target, or InvalidOid. */
static Oid
target_type(const char *schema, const char *name)
{
	Oid			nsp = get_namespace_oid(schema, true);

	return OidIsValid(nsp) ?
		GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name), ObjectIdGetDatum(nsp))
		: InvalidOid;
}

/* The row of a type of a task (or of what of it is not made): made, or not, and why. */
static void
type_row_set(int64 task_id, const StructureDef *d, const char *state, const char *error)
{
	CatalogUser cu;
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', error ? ' ' : 'n', ' '};

	if (d->ddl == NULL)
		nulls[4] = 'n';
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("INSERT INTO ape_resume.structure (task_id, schema, tb, dst_schema, kind, name, "
							  "phase, ddl, state, error) VALUES ($1, $2, NULL, $3, $8, $4, 1, $5, $6, $7) "
							  "ON CONFLICT (task_id, schema, tb, kind, name) DO UPDATE SET "
							  "dst_schema = EXCLUDED.dst_schema, ddl = EXCLUDED.ddl, state = EXCLUDED.state, "
							  "error = EXCLUDED.error, updated_at = pg_catalog.clock_timestamp()",
							  8, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
							  (Datum[]) {Int64GetDatum(task_id), CStringGetTextDatum(d->schema),
							  CStringGetTextDatum(d->dst_schema), CStringGetTextDatum(d->name),
							  d->ddl ? CStringGetTextDatum(d->ddl) : (Datum) 0,
							  CStringGetTextDatum(state), error ? CStringGetTextDatum(error) : (Datum) 0,
							  CStringGetTextDatum(d->kind)},
							  nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not update ape_resume.structure");
	catalog_as_owner_end(&cu);
}

/* Has the task made type dst_schema.name (a done row)? */
static bool
task_made_type(int64 task_id, const char *dst_schema, const char *name)
{
	return structure_catalog_finds("SELECT 1 FROM ape_resume.structure WHERE task_id = $1 AND tb IS NULL "
						 "AND kind = 'type' AND dst_schema = $2 AND name = $3 AND state = 'done'",
						 task_id, dst_schema, name);
}

/* Vet and run a type's statement (structure_try). */
static void
make_type(void *arg)
{
	StructureDef *d = arg;

	structure_check_ddl("type", d->ddl, d->dst_schema, "", NULL, NULL);
	sink_run_ddl(d->ddl);
	CommandCounterIncrement();
}

/*
 * The types the task made, as the catalog says (rows of kind type, done),
 * become the list of made types: what a transaction that aborted left
 * there is gone, and a later run of the task (after a restart) knows them.
 */
void
structure_load_made_types(int64 task_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	List	   *names = NIL;
	ListCell   *lc;

	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT dst_schema, name FROM ape_resume.structure WHERE task_id = $1 "
							  "AND tb IS NULL AND kind = 'type' AND state = 'done'",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(task_id)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		names = lappend(names, list_make2(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
										  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	list_free(made_types);
	made_types = NIL;
	foreach(lc, names)
	{
		Oid			typid = target_type(linitial(lfirst(lc)), lsecond(lfirst(lc)));

		if (OidIsValid(typid))
		{
			remember_made_type(typid);
			if (OidIsValid(get_array_type(typid)))
				remember_made_type(get_array_type(typid));
		}
	}
}

void
structure_make_types(int64 task_id, const TaskConfig *config, List *defs, SourceTable *table)
{
	List	   *usable = NIL;	/* "schema.name" of the types the columns may have */
	ListCell   *lc;

	if ((config->do_structures & STRUCT_TYPE) == 0)
		return;
	structure_load_made_types(task_id);
	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);
		Oid			typid;
		char	   *why = d->not_copied;

		CHECK_FOR_INTERRUPTS();
		if (why == NULL)
		{
			/*
			 * Two workers may want one type: one makes it, the other finds
			 * it.  One lock for all the task's types, held to the commit
			 * of the table: two tables that need the same types in
			 * another order cannot deadlock.
			 */
			sink_run_ddl(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, %d)",
								   APE_TYPE_LOCK_CLASS, (int32) (task_id & 0x7fffffff)));
			AcceptInvalidationMessages();
			InvalidateCatalogSnapshot();
			typid = target_type(d->dst_schema, d->name);
			if (OidIsValid(typid))
			{
				if (!task_made_type(task_id, d->dst_schema, d->name))
					why = psprintf("type \"%s\".\"%s\" is there already, and this task did not make it",
								   d->dst_schema, d->name);
			}
			else
			{
				if (!OidIsValid(get_namespace_oid(d->dst_schema, true)))
					sink_create_schema(d->dst_schema);
				if (structure_try(make_type, d, &why))
				{
					typid = target_type(d->dst_schema, d->name);
					type_row_set(task_id, d, "done", NULL);
					task_log(config, "INFO", "created type %s.%s", quote_identifier(d->dst_schema),
							 quote_identifier(d->name));
				}
				else
					why = psprintf("its definition is not made: %s", why);
			}
		}
		if (why != NULL)
		{
			type_row_set(task_id, d, "not_copied", why);
			continue;
		}
		remember_made_type(typid);
		/* and its array type */
		if (OidIsValid(get_array_type(typid)))
			remember_made_type(get_array_type(typid));
		usable = lappend(usable, psprintf("%s.%s", d->schema, d->name));
	}
	/* the columns of those types get them */
	for (int i = 0; i < table->ncolumns; i++)
	{
		SourceColumn *c = &table->columns[i];
		ListCell   *lc2;

		if (c->own_type == NULL)
			continue;
		foreach(lc2, usable)
			if (strcmp(lfirst(lc2), psprintf("%s.%s", c->own_type_schema, c->own_type_name)) == 0)
				c->pg_type = c->own_type;
	}
}
