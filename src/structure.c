/*-------------------------------------------------------------------------
 *
 * structure.c
 *	  The rest of a created table's schema, after its data, as ape-dts's
 *	  structure migration and pg_dump order it: the table with its primary
 *	  and unique keys first (sink.c), the rows, then secondary indexes,
 *	  checks, defaults, identities and comments when the table is finished
 *	  (phase 1, in the worker that finished it, so the builds of different
 *	  tables run in parallel), foreign keys when the tables they reference
 *	  are finished too (phase 2), sequence values when every table is
 *	  (phase 3).
 *
 * Invariants
 *
 *	  - The objects of a target table are planned by its source (SourceOps
 *		list_structures) and recorded in the transaction that creates the
 *		table: a table the task did not create gets none, and a created
 *		table always has its plan.
 *	  - An object is created in a transaction that also moves its row from
 *		pending to done, holding the row's lock (FOR UPDATE SKIP LOCKED)
 *		from the claim to the commit: two workers never run one object, a
 *		worker killed mid-build leaves it pending, and a resume never runs
 *		one twice.
 *	  - A failed object (its statement raised an ERROR) is rolled back to a
 *		savepoint and recorded failed with the error; with conflict_policy
 *		interrupt the task then fails (after the data is committed), with
 *		ignore it goes on with a WARNING.  A run of the task tries failed
 *		objects again.
 *	  - Every statement is checked before it is recorded and before it runs
 *		(structure_check_ddl): only the statement kinds an object needs, on
 *		its own target table, so an expression taken from a source (a
 *		CHECK, a default) cannot bring a second statement or subcommand.
 *		They run as the task's owner under the pinned search_path.
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

StructureDef *
structure_new(const char *kind, const char *name, int phase, int bit, char *ddl)
{
	StructureDef *d = palloc0(sizeof(StructureDef));

	d->kind = kind;
	d->name = pstrdup(name);
	d->phase = phase;
	d->bit = bit;
	d->ddl = ddl;
	return d;
}

StructureDef *
structure_comment(const char *dst_schema, const char *dst_tb, const char *tb,
				  const char *column, const char *dst_column, const char *text)
{
	const char *table = quote_qualified_identifier(dst_schema, dst_tb);

	if (column == NULL)
		return structure_new("comment", tb, STRUCT_PHASE_TABLE, STRUCT_COMMENT,
							 psprintf("COMMENT ON TABLE %s IS %s", table, quote_literal_cstr(text)));
	return structure_new("comment", psprintf("%s.%s", tb, column), STRUCT_PHASE_TABLE, STRUCT_COMMENT,
						 psprintf("COMMENT ON COLUMN %s.%s IS %s", table, quote_identifier(dst_column),
								  quote_literal_cstr(text)));
}

char *
structure_constraint_ddl(const char *dst_schema, const char *dst_tb, const char *name,
						 const char *def)
{
	return psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s",
					quote_qualified_identifier(dst_schema, dst_tb), quote_identifier(name), def);
}

char *
structure_validated(const char *ddl, const char *dst_schema, const char *dst_tb, const char *name)
{
	return psprintf("%s NOT VALID;\nALTER TABLE %s VALIDATE CONSTRAINT %s", ddl,
					quote_qualified_identifier(dst_schema, dst_tb), quote_identifier(name));
}

StructureDef *
structure_not_copied(const char *kind, const char *name, int bit, const char *why,
					 const char *definition)
{
	StructureDef *d = structure_new(kind, name, STRUCT_PHASE_TABLE, bit,
									definition ? pstrdup(definition) : NULL);

	d->not_copied = pstrdup(why);
	return d;
}

char *
structure_index_name(const char *dst_schema, const char *dst_tb, const char *src_name,
					 List **taken)
{
	/* resume_plan of a schema not made yet: nothing there to avoid */
	Oid			nsp = get_namespace_oid(dst_schema, true);
	CatalogUser cu;

	for (int n = 0;; n++)
	{
		char	   *label = n == 0 ? "idx" : psprintf("idx%d", n);
		/* free among the schema's relations (it appends digits itself) */
		char	   *name = ChooseRelationName(dst_tb, src_name, label, nsp, false);
		bool		planned;

		CHECK_FOR_INTERRUPTS();
		/* and among the indexes planned there, not made yet */
		catalog_as_owner_begin(&cu);
		if (SPI_execute_with_args("SELECT 1 FROM ape_resume.structure WHERE dst_schema = $1 "
								  "AND kind = 'index' AND name = $2 AND state IN ('pending', 'failed')",
								  2, (Oid[]) {TEXTOID, TEXTOID},
								  (Datum[]) {CStringGetTextDatum(dst_schema), CStringGetTextDatum(name)},
								  NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read ape_resume.structure");
		planned = SPI_processed > 0;
		catalog_as_owner_end(&cu);
		/* and among those of this table chosen already */
		if (!planned && list_member(*taken, makeString(name)))
			planned = true;
		if (!planned)
		{
			*taken = lappend(*taken, makeString(name));
			return name;
		}
	}
}

bool
structure_try(void (*fn) (void *), void *arg, char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN || edata->elevel > ERROR)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		*why = edata->message;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

typedef struct VetArg
{
	StructureDef *d;
	const TaskConfig *config;
	const char *dst_schema;
	const char *dst_tb;
} VetArg;

static void
vet_one(void *arg)
{
	VetArg	   *v = arg;
	char	   *ref_schema = NULL;
	char	   *ref_tb = NULL;

	if (v->d->ref_schema)
		name_filter_route(&v->config->filter, v->d->ref_schema, v->d->ref_tb, &ref_schema, &ref_tb);
	structure_check_ddl(v->d->kind, v->d->ddl, v->dst_schema, v->dst_tb, ref_schema, ref_tb);
}

void
structure_vet(List *defs, const TaskConfig *config, const char *dst_schema, const char *dst_tb)
{
	ListCell   *lc;

	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);
		VetArg		v = {d, config, dst_schema, dst_tb};
		char	   *why;

		if (d->not_copied || d->ddl == NULL || strcmp(d->kind, "sequence_value") == 0)
			continue;
		if (!structure_try(vet_one, &v, &why))
			d->not_copied = psprintf("its definition is not copied: %s", why);
	}
}

/*
 * Run the statements of ddl (checked: structure_check_ddl) one by one, as
 * the current user (the task's owner), pinned.
 */
void
structure_run_statements(const char *ddl)
{
	ListCell   *lc;

	foreach(lc, pg_parse_query(ddl))
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);

		sink_run_ddl(pnstrdup(ddl + raw->stmt_location,
							  raw->stmt_len > 0 ? raw->stmt_len : strlen(ddl + raw->stmt_location)));
		CommandCounterIncrement();
	}
}

/* Run a sequence's statements now (see make_sequences). */
static void
make_sequence(void *arg)
{
	structure_run_statements(((StructureDef *) arg)->ddl);
}

/* Does the catalog query sql, given $1 task_id, $2 and $3, find a row? */
bool
structure_catalog_finds(const char *sql, int64 task_id, const char *arg2, const char *arg3)
{
	CatalogUser cu;
	bool		found;

	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args(sql, 3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
							  (Datum[]) {Int64GetDatum(task_id), CStringGetTextDatum(arg2),
							  CStringGetTextDatum(arg3)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the ape_resume catalog");
	found = SPI_processed > 0;
	catalog_as_owner_end(&cu);
	return found;
}

/* Does the task copy source table schema.tb (a position row)? */
static bool
task_has_table(int64 task_id, const char *schema, const char *tb)
{
	return structure_catalog_finds("SELECT 1 FROM ape_resume.position WHERE task_id = $1 "
						 "AND schema = $2 AND tb = $3", task_id, schema, tb);
}

/* Has the task made sequence dst_schema.name (a done row)? */
static bool
task_made_sequence(int64 task_id, const char *dst_schema, const char *name)
{
	return structure_catalog_finds("SELECT 1 FROM ape_resume.structure WHERE task_id = $1 "
						 "AND kind = 'sequence' AND dst_schema = $2 AND name = $3 AND state = 'done'",
						 task_id, dst_schema, name);
}

/*
 * The sequences of a created table's defaults are made with it: a default
 * that uses one can then be set whenever.  One that is there already is
 * used only if this task made it (another table of the task uses it too);
 * else it, and what uses it, are not copied: ape_resume neither takes
 * over nor sets a sequence it did not make.
 */
static void
make_sequences(int64 task_id, List *defs, const char *dst_schema)
{
	Oid			nsp = get_namespace_oid(dst_schema, false);
	ListCell   *lc;

	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);
		char	   *why = NULL;
		ListCell   *lc2;

		if (strcmp(d->kind, "sequence") != 0 || d->not_copied || d->sequence == NULL)
			continue;
		if (!OidIsValid(get_relname_relid(d->sequence, nsp)))
		{
			if (structure_try(make_sequence, d, &why))
				d->made = true;
		}
		else if (task_made_sequence(task_id, dst_schema, d->sequence))
			d->made = true;		/* shared with a table made earlier */
		else
		{
			foreach(lc2, defs)
				if (lfirst(lc2) != d && ((StructureDef *) lfirst(lc2))->made &&
					strcmp(((StructureDef *) lfirst(lc2))->kind, "sequence") == 0 &&
					strcmp(((StructureDef *) lfirst(lc2))->sequence, d->sequence) == 0)
					d->made = true; /* made just now for another column */
			if (!d->made)
				why = psprintf("relation \"%s\".\"%s\" is there already, and this task did not make it",
							   dst_schema, d->sequence);
		}
		if (d->made)
			continue;
		d->not_copied = psprintf("its sequence is not made: %s", why);
		/* nor what uses it */
		foreach(lc2, defs)
		{
			StructureDef *u = lfirst(lc2);

			if (u != d && u->not_copied == NULL && u->sequence != NULL &&
				strcmp(u->sequence, d->sequence) == 0 && strcmp(u->kind, "sequence") != 0)
				u->not_copied = psprintf("its sequence \"%s\".\"%s\" is not made: %s",
										 dst_schema, d->sequence, why);
		}
	}
}

void
structure_register(int64 task_id, const TaskConfig *config, const char *schema, const char *tb,
				   const char *dst_schema, const char *dst_tb, List *defs)
{
	CatalogUser cu;
	char		nulls[14];
	SPIPlanPtr	plan;
	ListCell   *lc;
	List	   *kept = NIL;

	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);
		ListCell   *lc2;
		bool		dup = false;

		if ((config->do_structures & d->bit) != d->bit)
			continue;
		/* the same object twice (two columns of one sequence): once */
		foreach(lc2, kept)
		{
			StructureDef *k = lfirst(lc2);

			if (strcmp(k->kind, d->kind) == 0 && strcmp(k->name, d->name) == 0 &&
				(k->schema == NULL) == (d->schema == NULL) &&
				(d->schema == NULL || (strcmp(k->schema, d->schema) == 0 &&
									   (k->tb == NULL) == (d->tb == NULL) &&
									   (d->tb == NULL || strcmp(k->tb, d->tb) == 0))))
			{
				/* another object of the same name: listed under a name of its own */
				if (!((k->ddl == NULL && d->ddl == NULL) ||
					  (k->ddl && d->ddl && strcmp(k->ddl, d->ddl) == 0)))
				{
					d->name = psprintf("%s (%d)", d->name, list_length(kept) + 1);
					if (d->not_copied == NULL)
						d->not_copied = "another object of the table has its name";
					d->ddl = NULL;
				}
				else
					dup = true;
				break;
			}
		}
		if (!dup)
			kept = lappend(kept, d);
	}
	if (dst_schema)
	{
		foreach(lc, kept)
		{
			StructureDef *d = lfirst(lc);

			if (d->ref_schema && d->not_copied == NULL &&
				!task_has_table(task_id, d->ref_schema, d->ref_tb))
				d->not_copied = psprintf("it references table \"%s\".\"%s\", which the task does not copy",
										 d->ref_schema, d->ref_tb);
		}
		structure_vet(kept, config, dst_schema, dst_tb);
		make_sequences(task_id, kept, dst_schema);
	}

	catalog_as_owner_begin(&cu);
	/*
	 * A table created again (its target was dropped during the task): its
	 * objects are new too.  A schema's objects are listed by every run.
	 */
	if (tb != NULL &&
		SPI_execute_with_args("DELETE FROM ape_resume.structure WHERE task_id = $1 "
							  "AND schema = $2 AND tb = $3 AND dst_schema IS NOT NULL",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID},
							  (Datum[]) {Int64GetDatum(task_id), CStringGetTextDatum(schema),
							  CStringGetTextDatum(tb)}, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not update ape_resume.structure");
	plan = SPI_prepare("INSERT INTO ape_resume.structure (task_id, schema, tb, dst_schema, dst_tb, "
					   "kind, name, phase, ref_schema, ref_tb, ddl, args, state, error) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
					   "CASE WHEN $13::text IS NOT NULL THEN 'not_copied' WHEN $14 THEN 'done' "
					   "ELSE 'pending' END, $13) "
					   "ON CONFLICT (task_id, schema, tb, kind, name) DO NOTHING",
					   14, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
					   INT2OID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID, BOOLOID});
	if (plan == NULL)
		elog(ERROR, "could not prepare an ape_resume catalog statement: %s",
			 SPI_result_code_string(SPI_result));
	foreach(lc, kept)
	{
		StructureDef *d = lfirst(lc);
		Datum		a[14];
		int			rc;

		memset(nulls, ' ', sizeof(nulls));
		a[0] = Int64GetDatum(task_id);
		a[1] = CStringGetTextDatum(d->schema ? d->schema : schema);
		if (d->schema ? d->tb : tb)
			a[2] = CStringGetTextDatum(d->schema ? d->tb : tb);
		else
			nulls[2] = 'n';
		if (dst_schema)
			a[3] = CStringGetTextDatum(dst_schema);
		else
			nulls[3] = 'n';
		if (dst_tb)
			a[4] = CStringGetTextDatum(dst_tb);
		else
			nulls[4] = 'n';
		a[5] = CStringGetTextDatum(d->kind);
		a[6] = CStringGetTextDatum(d->name);
		a[7] = Int16GetDatum(d->phase);
		if (d->ref_schema)
		{
			a[8] = CStringGetTextDatum(d->ref_schema);
			a[9] = CStringGetTextDatum(d->ref_tb);
		}
		else
			nulls[8] = nulls[9] = 'n';
		if (d->ddl)
			a[10] = CStringGetTextDatum(d->ddl);
		else
			nulls[10] = 'n';
		if (d->args != NIL)
		{
			char	  **items = palloc(sizeof(char *) * list_length(d->args));
			int			i = 0;
			ListCell   *lc2;

			foreach(lc2, d->args)
				items[i++] = lfirst(lc2) ? lfirst(lc2) : "";
			a[11] = catalog_text_array(i, items);
		}
		else
			nulls[11] = 'n';
		if (d->not_copied)
			a[12] = CStringGetTextDatum(d->not_copied);
		else
			nulls[12] = 'n';
		a[13] = BoolGetDatum(d->made);
		rc = SPI_execute_plan(plan, a, nulls, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not update the ape_resume catalog: %s", SPI_result_code_string(rc));
	}
	SPI_freeplan(plan);
	catalog_as_owner_end(&cu);
}

/* The catalog rows of a task as StructureDefs for structure_plan. */
static List *
catalog_objects(int64 task_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	List	   *defs = NIL;

	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT schema, tb, dst_schema, dst_tb, kind, name, phase, ddl, state, error "
							  "FROM ape_resume.structure WHERE task_id = $1 ORDER BY phase, id",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(task_id)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(cxt);
		StructureDef *d = palloc0(sizeof(StructureDef));
		char	   *state = SPI_getvalue(tup, desc, 9);
		char	   *v;

		d->schema = SPI_getvalue(tup, desc, 1);
		d->tb = SPI_getvalue(tup, desc, 2);
		d->dst_schema = SPI_getvalue(tup, desc, 3);
		d->dst_tb = SPI_getvalue(tup, desc, 4);
		d->kind = SPI_getvalue(tup, desc, 5);
		d->name = SPI_getvalue(tup, desc, 6);
		d->phase = atoi(SPI_getvalue(tup, desc, 7));
		d->ddl = SPI_getvalue(tup, desc, 8);
		v = SPI_getvalue(tup, desc, 10);
		/* a failed one is tried again */
		d->action = strcmp(state, "done") == 0 ? "done" :
			strcmp(state, "not_copied") == 0 ? "not_copied" : "create";
		d->not_copied = v;
		d->from_catalog = true;
		defs = lappend(defs, d);
		MemoryContextSwitchTo(old);
	}
	catalog_as_owner_end(&cu);
	return defs;
}

List *
structure_plan(int64 task_id, const TaskConfig *config, const SourceOps *ops, Source *source,
			   List *tables)
{
	List	   *defs = task_id != 0 ? catalog_objects(task_id) : NIL;
	List	   *planned = NIL;
	bool		schema_listed = false;
	ListCell   *lc;

	foreach(lc, defs)
		if (((StructureDef *) lfirst(lc))->tb == NULL)
			schema_listed = true;
	foreach(lc, tables)
	{
		const SourceTable *t = lfirst(lc);
		char	   *dst_schema;
		char	   *dst_tb;
		Oid			nsp;
		ListCell   *lc2;
		bool		known = false;

		foreach(lc2, defs)
		{
			StructureDef *d = lfirst(lc2);

			if (d->tb && strcmp(d->schema, t->schema) == 0 && strcmp(d->tb, t->tb) == 0)
				known = true;
		}
		name_filter_route(&config->filter, t->schema, t->tb, &dst_schema, &dst_tb);
		nsp = get_namespace_oid(dst_schema, true);
		if (known || ops->list_structures == NULL ||
			(OidIsValid(nsp) && OidIsValid(get_relname_relid(dst_tb, nsp))))
			continue;
		foreach(lc2, ops->list_structures(source, t, config, dst_schema, dst_tb))
		{
			StructureDef *d = lfirst(lc2);

			if ((config->do_structures & d->bit) != d->bit)
				continue;
			d->schema = t->schema;
			d->tb = t->tb;
			d->dst_schema = dst_schema;
			d->dst_tb = dst_tb;
			planned = lappend(planned, d);
		}
		structure_vet(planned, config, dst_schema, dst_tb);
		foreach(lc2, planned)
		{
			StructureDef *d = lfirst(lc2);

			if (d->action == NULL)
				d->action = d->not_copied ? "not_copied" : "create";
		}
	}
	if (!schema_listed && ops->list_schema_objects)
		foreach(lc, ops->list_schema_objects(source, config, tables))
		{
			StructureDef *d = lfirst(lc);

			d->action = "not_copied";
			planned = lappend(planned, d);
		}
	/* phase order, as a run would make them */
	for (int phase = STRUCT_PHASE_TABLE; phase <= STRUCT_PHASE_LAST; phase++)
		foreach(lc, planned)
			if (((StructureDef *) lfirst(lc))->phase == phase)
				defs = lappend(defs, lfirst(lc));
	return defs;
}

void
structure_retry_failed(int64 task_id)
{
	CatalogUser cu;

	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("UPDATE ape_resume.structure SET state = 'pending', error = NULL, "
							  "updated_at = pg_catalog.now() "
							  "WHERE task_id = $1 AND state = 'failed'",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(task_id)},
							  NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.structure");
	catalog_as_owner_end(&cu);
}

