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
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "checkpoint.h"
#include "privileges.h"
#include "name_filter.h"
#include "structure.h"
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
structure_not_copied(const char *kind, const char *name, int bit, const char *why,
					 const char *definition)
{
	StructureDef *d = structure_new(kind, name, STRUCT_PHASE_TABLE, bit,
									definition ? pstrdup(definition) : NULL);

	d->not_copied = pstrdup(why);
	return d;
}

static bool
names_target(const RangeVar *rv, const char *dst_schema, const char *dst_tb)
{
	return rv != NULL && rv->catalogname == NULL && rv->schemaname != NULL &&
		strcmp(rv->schemaname, dst_schema) == 0 && strcmp(rv->relname, dst_tb) == 0;
}

/* Does a COMMENT ON's object (a List of String) name the target or one of its columns? */
static bool
comment_names_target(const CommentStmt *c, const char *dst_schema, const char *dst_tb)
{
	List	   *names;

	if (c->objtype != OBJECT_TABLE && c->objtype != OBJECT_COLUMN)
		return false;
	names = castNode(List, c->object);
	if (list_length(names) != (c->objtype == OBJECT_TABLE ? 2 : 3))
		return false;
	return strcmp(strVal(linitial(names)), dst_schema) == 0 &&
		strcmp(strVal(lsecond(names)), dst_tb) == 0;
}

void
structure_check_ddl(const char *ddl, const char *dst_schema, const char *dst_tb)
{
	List	   *stmts = pg_parse_query(ddl);
	ListCell   *lc;

	if (stmts == NIL || list_length(stmts) > 3)
		elog(ERROR, "structure statement \"%s\" is not one to three statements", ddl);
	foreach(lc, stmts)
	{
		Node	   *n = lfirst_node(RawStmt, lc)->stmt;
		bool		ok = false;

		switch (nodeTag(n))
		{
			case T_IndexStmt:
				{
					IndexStmt  *s = (IndexStmt *) n;

					ok = names_target(s->relation, dst_schema, dst_tb) && !s->concurrent;
					break;
				}
			case T_AlterTableStmt:
				{
					AlterTableStmt *s = (AlterTableStmt *) n;
					AlterTableCmd *cmd;

					if (!names_target(s->relation, dst_schema, dst_tb) ||
						s->objtype != OBJECT_TABLE || list_length(s->cmds) != 1)
						break;
					cmd = linitial_node(AlterTableCmd, s->cmds);
					/* a generated column, added with its expression */
					if (cmd->subtype == AT_AddColumn)
					{
						ColumnDef  *col = castNode(ColumnDef, cmd->def);
						ListCell   *c;

						foreach(c, col->constraints)
							if (lfirst_node(Constraint, c)->contype == CONSTR_GENERATED)
								ok = true;
						break;
					}
					ok = cmd->subtype == AT_AddConstraint ||
						cmd->subtype == AT_ValidateConstraint ||
						cmd->subtype == AT_ColumnDefault ||
						cmd->subtype == AT_AddIdentity ||
						cmd->subtype == AT_SetIdentity;
					break;
				}
			case T_CommentStmt:
				ok = comment_names_target((CommentStmt *) n, dst_schema, dst_tb);
				break;
			case T_CreateSeqStmt:
				/* a sequence of the table's defaults, in a schema of the task */
				ok = ((CreateSeqStmt *) n)->sequence->schemaname != NULL &&
					((CreateSeqStmt *) n)->ownerId == InvalidOid;
				break;
			case T_AlterSeqStmt:
				{
					AlterSeqStmt *a = (AlterSeqStmt *) n;
					DefElem    *opt;

					/* OWNED BY a column of the target, nothing else */
					if (list_length(a->options) != 1)
						break;
					opt = linitial_node(DefElem, a->options);
					ok = strcmp(opt->defname, "owned_by") == 0 &&
						list_length((List *) opt->arg) == 3 &&
						strcmp(strVal(linitial((List *) opt->arg)), dst_schema) == 0 &&
						strcmp(strVal(lsecond((List *) opt->arg)), dst_tb) == 0;
					break;
				}
			default:
				break;
		}
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("structure statement for table \"%s\".\"%s\" is not allowed", dst_schema, dst_tb),
					 errdetail("Statement: %s", ddl)));
	}
}

char *
structure_index_name(const char *dst_schema, const char *dst_tb, const char *src_name)
{
	Oid			nsp = get_namespace_oid(dst_schema, false);
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
		if (!planned)
			return name;
	}
}

char *
structure_splice(const char *sql, int location, const char *expect, const char *replacement)
{
	int			start = location;
	StringInfoData out;

	if (location < 0 || location > strlen(sql) ||
		strncmp(sql + location, expect, strlen(expect)) != 0)
		return NULL;
	/* the target is a plain table: no ONLY */
	if (start >= 5 && pg_strncasecmp(sql + start - 5, "ONLY ", 5) == 0)
		start -= 5;
	initStringInfo(&out);
	appendBinaryStringInfo(&out, sql, start);
	appendStringInfoString(&out, replacement);
	appendStringInfoString(&out, sql + location + strlen(expect));
	return out.data;
}

void
structure_register(int64 task_id, const TaskConfig *config, const char *schema, const char *tb,
				   const char *dst_schema, const char *dst_tb, List *defs)
{
	CatalogUser cu;
	char		nulls[13];
	SPIPlanPtr	plan;
	ListCell   *lc;

	/* the checks parse: outside the owner's SPI connection */
	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);

		if (d->not_copied == NULL && d->ddl != NULL && strcmp(d->kind, "sequence_value") != 0)
			structure_check_ddl(d->ddl, dst_schema, dst_tb);
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
	plan = SPI_prepare(tb != NULL ?
					   "INSERT INTO ape_resume.structure (task_id, schema, tb, dst_schema, dst_tb, "
					   "kind, name, phase, ref_schema, ref_tb, ddl, args, state, error) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
					   "CASE WHEN $13::text IS NULL THEN 'pending' ELSE 'not_copied' END, $13)" :
					   "INSERT INTO ape_resume.structure (task_id, schema, tb, dst_schema, dst_tb, "
					   "kind, name, phase, ref_schema, ref_tb, ddl, args, state, error) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
					   "CASE WHEN $13::text IS NULL THEN 'pending' ELSE 'not_copied' END, $13) "
					   "ON CONFLICT (task_id, schema, tb, kind, name) DO NOTHING",
					   13, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
					   INT2OID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID});
	if (plan == NULL)
		elog(ERROR, "could not prepare an ape_resume catalog statement: %s",
			 SPI_result_code_string(SPI_result));
	foreach(lc, defs)
	{
		StructureDef *d = lfirst(lc);
		Datum		a[13];
		int			rc;

		if (d->bit != 0 && (config->do_structures & d->bit) == 0)
			continue;
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
				items[i++] = lfirst(lc2);
			a[11] = catalog_text_array(i, items);
		}
		else
			nulls[11] = 'n';
		if (d->not_copied)
			a[12] = CStringGetTextDatum(d->not_copied);
		else
			nulls[12] = 'n';
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

			if (d->bit != 0 && (config->do_structures & d->bit) == 0)
				continue;
			d->schema = t->schema;
			d->tb = t->tb;
			d->dst_schema = dst_schema;
			d->dst_tb = dst_tb;
			d->action = d->not_copied ? "not_copied" : "create";
			planned = lappend(planned, d);
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

/* A claimed object. */
typedef struct ClaimedObject
{
	int64		id;
	char	   *kind;
	char	   *name;
	char	   *ddl;
	char	   *dst_schema;
	char	   *dst_tb;
	char	   *schema;
	char	   *tb;
	char	  **args;
	int			nargs;
} ClaimedObject;

/* a table of the task is done: finished or skipped */
#define TABLE_DONE(schema, tb) \
	"EXISTS (SELECT 1 FROM ape_resume.position p WHERE p.task_id = s.task_id " \
	"        AND p.schema = " schema " AND p.tb = " tb " AND p.state IN ('finished', 'skipped'))"

/*
 * Claim the next object that can be created now, locking its row until
 * the transaction ends.  schema, tb not NULL: only that table's phase 1.
 */
static bool
claim_object(int64 task_id, const char *schema, const char *tb, ClaimedObject *o)
{
	MemoryContext cxt = CurrentMemoryContext;
	CatalogUser cu;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		found;

	args[0] = Int64GetDatum(task_id);
	if (schema)
	{
		args[1] = CStringGetTextDatum(schema);
		args[2] = CStringGetTextDatum(tb);
	}
	else
		nulls[1] = nulls[2] = 'n';
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT s.id, s.kind, s.name, s.ddl, s.dst_schema, s.dst_tb, "
							  "s.schema, s.tb, s.args "
							  "FROM ape_resume.structure s "
							  "WHERE s.task_id = $1 AND s.state = 'pending' "
							  "AND ($2::text IS NULL OR (s.schema = $2 AND s.tb = $3 AND s.phase = 1)) "
							  "AND " TABLE_DONE("s.schema", "s.tb") " "
							  "AND (s.phase <> 2 OR s.ref_tb IS NULL OR " TABLE_DONE("s.ref_schema", "s.ref_tb") ") "
							  "AND (s.phase <> 3 OR NOT EXISTS (SELECT 1 FROM ape_resume.position p "
							  "     WHERE p.task_id = s.task_id AND p.state NOT IN ('finished', 'skipped'))) "
							  "AND EXISTS (SELECT 1 FROM ape_resume.task t WHERE t.id = $1 AND t.state = 'running') "
							  "ORDER BY s.phase, s.id LIMIT 1 FOR UPDATE OF s SKIP LOCKED",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID}, args, nulls,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	found = SPI_processed > 0;
	if (found)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *v;

		o->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		o->kind = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		o->name = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 3));
		v = SPI_getvalue(tup, desc, 4);
		o->ddl = v ? MemoryContextStrdup(cxt, v) : NULL;
		o->dst_schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 5));
		o->dst_tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 6));
		o->schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 7));
		o->tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 8));
		o->args = catalog_get_text_array(tup, desc, 9, &o->nargs, cxt);
	}
	catalog_as_owner_end(&cu);
	return found;
}

static void
set_object_state(int64 id, const char *state, const char *error)
{
	CatalogUser cu;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', error ? ' ' : 'n'};

	args[0] = Int64GetDatum(id);
	args[1] = CStringGetTextDatum(state);
	args[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("UPDATE ape_resume.structure SET state = $2, error = $3, "
							  "updated_at = pg_catalog.now() WHERE id = $1",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID}, args, nulls,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.structure");
	catalog_as_owner_end(&cu);
}

/* Run one statement as the current user (the task's owner), pinned. */
static void
run_statement(const char *sql, bool read_only)
{
	int			nestlevel = pinned_spi_connect();
	int			rc = SPI_execute(sql, read_only, 0);

	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	pinned_spi_finish(nestlevel);
}

/*
 * An identity's value, past the copied data: the column's maximum at the
 * target and the source's next value (args[1], MySQL's AUTO_INCREMENT
 * counter), whichever is further.
 */
static void
restart_identity(const ClaimedObject *o)
{
	const char *col = o->args[0];
	char	   *qualified = psprintf("%s.%s", quote_identifier(o->dst_schema),
									 quote_identifier(o->dst_tb));
	int			nestlevel;
	char	   *max = NULL;
	char	   *restart;

	nestlevel = pinned_spi_connect();
	if (SPI_execute(psprintf("SELECT (pg_catalog.max(%s) OPERATOR(pg_catalog.+) 1)::pg_catalog.text FROM %s",
							 quote_identifier(col), qualified), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the maximum of column \"%s\" of %s", col, qualified);
	if (SPI_processed > 0)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v)
			max = pstrdup(v);
	}
	pinned_spi_finish(nestlevel);
	restart = max;
	if (o->nargs > 1 && o->args[1] != NULL &&
		(restart == NULL ||
		 DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										   DirectFunctionCall3(numeric_in, CStringGetDatum(o->args[1]),
															   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)),
										   DirectFunctionCall3(numeric_in, CStringGetDatum(restart),
															   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)))) > 0))
		restart = o->args[1];
	if (restart == NULL)
		return;
	/* digits only: both come from numbers */
	if (strspn(restart, "-0123456789") != strlen(restart))
		elog(ERROR, "invalid identity value \"%s\" for column \"%s\" of %s", restart, col, qualified);
	run_statement(psprintf("ALTER TABLE %s ALTER COLUMN %s RESTART WITH %s",
						   qualified, quote_identifier(col), restart), false);
}

/*
 * A sequence's value, as the source had it: args are the sequence's
 * qualified name, last_value and is_called (the ddl only shows it).
 */
static void
set_sequence_value(const ClaimedObject *o)
{
	int			nestlevel;
	Datum		args[3];

	if (o->nargs != 3)
		elog(ERROR, "sequence value %s has %d arguments", o->name, o->nargs);
	args[0] = CStringGetTextDatum(o->args[0]);
	args[1] = DirectFunctionCall1(int8in, CStringGetDatum(o->args[1]));
	args[2] = BoolGetDatum(strcmp(o->args[2], "t") == 0 || strcmp(o->args[2], "true") == 0);
	nestlevel = pinned_spi_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.setval($1::pg_catalog.text::pg_catalog.regclass, $2, $3)",
							  3, (Oid[]) {TEXTOID, INT8OID, BOOLOID}, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not set the value of sequence %s", o->args[0]);
	pinned_spi_finish(nestlevel);
}

/* Create one claimed object, in the caller's (sub)transaction. */
static void
create_object(const ClaimedObject *o)
{
	List	   *stmts;
	ListCell   *lc;

	if (strcmp(o->kind, "sequence_value") == 0)
	{
		set_sequence_value(o);
		return;
	}
	structure_check_ddl(o->ddl, o->dst_schema, o->dst_tb);
	stmts = pg_parse_query(o->ddl);
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		char	   *one = pnstrdup(o->ddl + raw->stmt_location,
								   raw->stmt_len > 0 ? raw->stmt_len : strlen(o->ddl + raw->stmt_location));

		run_statement(one, false);
		CommandCounterIncrement();
	}
	if (strcmp(o->kind, "identity") == 0 && o->nargs > 0)
		restart_identity(o);
}

static void
xact_begin(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	ape_worker_pin_session();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	MemoryContextSwitchTo(cxt);
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
xact_commit(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

void
structure_check_failed(int64 task_id, const TaskConfig *config)
{
	CatalogUser cu;
	char	   *first = NULL;
	int64		n = 0;

	if (config->structure_conflict_ignore)
		return;
	xact_begin();
	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) OVER (), "
							  "pg_catalog.format('%s %I of table %I.%I: %s', kind, name, schema, tb, error) "
							  "FROM ape_resume.structure WHERE task_id = $1 AND state = 'failed' "
							  "ORDER BY id LIMIT 1",
							  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(task_id)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.structure");
	if (SPI_processed > 0)
	{
		bool		isnull;

		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		first = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	}
	catalog_as_owner_end(&cu);
	xact_commit();
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not create " INT64_FORMAT " structure objects, the first: %s", n, first),
				 errdetail("The data is copied; view ape_resume.structures lists the objects and their errors."),
				 errhint("Fix the cause and resume the task, which tries them again, or set conflict_policy=ignore in section [sinker] to finish without them.")));
}

bool
structure_run_ready(int64 task_id, const TaskConfig *config, const SourceTable *table)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ape_resume structure",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	for (;;)
	{
		ClaimedObject o;
		ResourceOwner owner;
		ErrorData  *edata = NULL;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(cxt);
		xact_begin();
		if (checkpoint_stop_requested(task_id))
		{
			xact_commit();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			return false;
		}
		if (!claim_object(task_id, table ? table->schema : NULL, table ? table->tb : NULL, &o))
		{
			xact_commit();
			break;
		}
		pgstat_report_activity(STATE_RUNNING, o.ddl);

		owner = CurrentResourceOwner;
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			create_object(&o);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_END_TRY();

		if (edata == NULL)
		{
			set_object_state(o.id, "done", NULL);
			xact_commit();
			task_log(config, "INFO", "created %s %s of table \"%s\".\"%s\"",
					 o.kind, quote_identifier(o.name), o.schema, o.tb);
			continue;
		}
		set_object_state(o.id, "failed", edata->message);
		xact_commit();
		task_log(config, "WARN", "could not create %s \"%s\" of table \"%s\".\"%s\": %s",
				 o.kind, o.name, o.schema, o.tb, edata->message);
	}
	pgstat_report_activity(STATE_RUNNING, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return true;
}
