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
#include "commands/defrem.h"
#include "parser/parse_type.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "checkpoint.h"
#include "privileges.h"
#include "name_filter.h"
#include "sink.h"
#include "structure.h"
#include "task_run.h"
#include "worker.h"

/* First key of the advisory lock a task's foreign keys take in turn. */
#define APE_FK_LOCK_CLASS 0x41504546
/* First key of the advisory lock taken while a type is looked for and made. */
#define APE_TYPE_LOCK_CLASS 0x41504554

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

/* The functions a column default may call beyond those that are not volatile. */
static const char *const default_volatile_ok[] = {
	"nextval", "clock_timestamp", "random", "gen_random_uuid", "timeofday"
};

/* What an expression of a source may do: see structure_check_ddl. */
typedef struct ExprCheck
{
	bool		is_default;
	const char *problem;		/* set by the walker */
} ExprCheck;

/* A name list (function, operator, type) outside pg_catalog? */
static bool
qualified_elsewhere(List *names)
{
	return list_length(names) > 1 &&
		!(list_length(names) == 2 && strcmp(strVal(linitial(names)), "pg_catalog") == 0);
}

/* Is a function name of pg_catalog free of volatile functions? */
static bool
catalog_function_safe(const char *name, bool is_default)
{
	CatCList   *list;
	bool		safe = true;

	if (is_default)
		for (int i = 0; i < lengthof(default_volatile_ok); i++)
			if (strcmp(name, default_volatile_ok[i]) == 0)
				return true;
	list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
	for (int i = 0; i < list->n_members; i++)
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&list->members[i]->tuple);

		if (proc->pronamespace == PG_CATALOG_NAMESPACE && proc->provolatile == PROVOLATILE_VOLATILE)
			safe = false;
	}
	ReleaseSysCacheList(list);
	return safe;
}

static bool
expr_check_walker(Node *node, ExprCheck *c)
{
	if (node == NULL || c->problem)
		return false;
	switch (nodeTag(node))
	{
		case T_FuncCall:
			{
				FuncCall   *f = (FuncCall *) node;

				if (qualified_elsewhere(f->funcname))
					c->problem = psprintf("it calls function %s, which is not one of pg_catalog's",
										  NameListToString(f->funcname));
				else if (!catalog_function_safe(strVal(llast(f->funcname)), c->is_default))
					c->problem = psprintf("it calls the volatile function %s",
										  NameListToString(f->funcname));
				break;
			}
		case T_A_Expr:
			if (qualified_elsewhere(((A_Expr *) node)->name))
				c->problem = psprintf("it uses operator %s, which is not one of pg_catalog's",
									  NameListToString(((A_Expr *) node)->name));
			break;
		case T_TypeCast:
			if (qualified_elsewhere(((TypeCast *) node)->typeName->names) &&
				!structure_type_is_made(LookupTypeNameOid(NULL, ((TypeCast *) node)->typeName, true)))
				c->problem = psprintf("it casts to type %s, which is neither one of pg_catalog's nor one the task made",
									  NameListToString(((TypeCast *) node)->typeName->names));
			break;
		case T_SubLink:
			c->problem = "it holds a subquery";
			break;
		default:
			break;
	}
	if (c->problem)
		return true;
	return raw_expression_tree_walker(node, expr_check_walker, (void *) c);
}

/* An ERROR unless the expression calls only what it may. */
static void
check_expression(Node *expr, bool is_default, const char *ddl)
{
	ExprCheck	c = {is_default, NULL};

	(void) expr_check_walker(expr, &c);
	if (c.problem)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("its expression is not copied: %s", c.problem),
				 errdetail("Statement: %s", ddl),
				 errhint("Only pg_catalog's functions, operators and types that are not volatile run in an expression ape_resume makes.")));
}

static void
check_index_elems(List *elems, const char *ddl)
{
	ListCell   *lc;

	foreach(lc, elems)
	{
		IndexElem  *e = lfirst_node(IndexElem, lc);

		check_expression(e->expr, false, ddl);
	}
}

/* The ALTER TABLE's one subcommand, of subtype, on the target. */
static AlterTableCmd *
alter_cmd(Node *n, const char *dst_schema, const char *dst_tb)
{
	AlterTableStmt *a;

	if (!IsA(n, AlterTableStmt))
		return NULL;
	a = (AlterTableStmt *) n;
	if (!names_target(a->relation, dst_schema, dst_tb) || a->objtype != OBJECT_TABLE ||
		list_length(a->cmds) != 1)
		return NULL;
	return linitial_node(AlterTableCmd, a->cmds);
}

/* An ADD CONSTRAINT of contype, then at most a VALIDATE of it. */
static Constraint *
added_constraint(List *stmts, ConstrType contype, const char *dst_schema, const char *dst_tb)
{
	AlterTableCmd *cmd = alter_cmd(linitial_node(RawStmt, stmts)->stmt, dst_schema, dst_tb);
	Constraint *con;

	if (cmd == NULL || cmd->subtype != AT_AddConstraint || !IsA(cmd->def, Constraint))
		return NULL;
	con = (Constraint *) cmd->def;
	if (con->contype != contype || con->conname == NULL)
		return NULL;
	if (list_length(stmts) == 2)
	{
		AlterTableCmd *v = alter_cmd(lsecond_node(RawStmt, stmts)->stmt, dst_schema, dst_tb);

		if (v == NULL || v->subtype != AT_ValidateConstraint || strcmp(v->name, con->conname) != 0)
			return NULL;
	}
	else if (list_length(stmts) != 1)
		return NULL;
	return con;
}

static void check_type_name(TypeName *tn, const char *ddl);

void
structure_check_ddl(const char *kind, const char *ddl, const char *dst_schema,
					const char *dst_tb, const char *ref_schema, const char *ref_tb)
{
	List	   *stmts = pg_parse_query(ddl);
	Node	   *first;
	bool		ok = false;

	if (stmts == NIL || list_length(stmts) > 2)
		goto bad;
	first = linitial_node(RawStmt, stmts)->stmt;
	if (strcmp(kind, "index") == 0)
	{
		IndexStmt  *s = (IndexStmt *) first;

		ok = list_length(stmts) == 1 && IsA(first, IndexStmt) &&
			names_target(s->relation, dst_schema, dst_tb) && !s->concurrent &&
			s->idxname != NULL && s->tableSpace == NULL;
		if (ok)
		{
			check_index_elems(s->indexParams, ddl);
			check_index_elems(s->indexIncludingParams, ddl);
			check_expression(s->whereClause, false, ddl);
		}
	}
	else if (strcmp(kind, "check") == 0)
	{
		Constraint *con = added_constraint(stmts, CONSTR_CHECK, dst_schema, dst_tb);

		ok = con != NULL;
		if (ok)
			check_expression(con->raw_expr, false, ddl);
	}
	else if (strcmp(kind, "exclusion") == 0)
	{
		Constraint *con = added_constraint(stmts, CONSTR_EXCLUSION, dst_schema, dst_tb);
		ListCell   *lc;

		ok = con != NULL && con->indexspace == NULL;
		if (ok)
		{
			foreach(lc, con->exclusions)
			{
				List	   *pair = lfirst(lc);

				check_index_elems(list_make1(linitial(pair)), ddl);
				if (qualified_elsewhere(lsecond(pair)))
					ok = false;
			}
			check_expression(con->where_clause, false, ddl);
		}
	}
	else if (strcmp(kind, "foreign_key") == 0)
	{
		Constraint *con = added_constraint(stmts, CONSTR_FOREIGN, dst_schema, dst_tb);

		/* only to the target of a table of the task */
		ok = con != NULL && ref_schema != NULL &&
			names_target(con->pktable, ref_schema, ref_tb);
	}
	else if (strcmp(kind, "default") == 0)
	{
		AlterTableCmd *cmd = alter_cmd(first, dst_schema, dst_tb);

		ok = list_length(stmts) == 1 && cmd != NULL && cmd->subtype == AT_ColumnDefault &&
			cmd->def != NULL;
		if (ok)
			check_expression(cmd->def, true, ddl);
	}
	else if (strcmp(kind, "identity") == 0)
	{
		AlterTableCmd *cmd = alter_cmd(first, dst_schema, dst_tb);

		ok = list_length(stmts) == 1 && cmd != NULL && cmd->subtype == AT_AddIdentity;
		if (ok)
		{
			ListCell   *lc;

			/* its sequence, if named, in the table's schema */
			foreach(lc, castNode(Constraint, cmd->def)->options)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "sequence_name") == 0 &&
					(list_length((List *) opt->arg) != 2 ||
					 strcmp(strVal(linitial((List *) opt->arg)), dst_schema) != 0))
					ok = false;
			}
		}
	}
	else if (strcmp(kind, "generated") == 0)
	{
		AlterTableCmd *cmd = alter_cmd(first, dst_schema, dst_tb);
		ColumnDef  *col = cmd && cmd->subtype == AT_AddColumn ? castNode(ColumnDef, cmd->def) : NULL;

		/* the column with its generation expression, nothing else */
		ok = list_length(stmts) == 1 && col != NULL && list_length(col->constraints) == 1 &&
			lfirst_node(Constraint, list_head(col->constraints))->contype == CONSTR_GENERATED &&
			col->raw_default == NULL && col->collClause == NULL;
		if (ok)
			check_expression(lfirst_node(Constraint, list_head(col->constraints))->raw_expr,
							 false, ddl);
	}
	else if (strcmp(kind, "type") == 0 && list_length(stmts) == 1)
	{
		/* a type of dst_schema; a domain's checks and default vetted */
		List	   *name = NIL;

		if (IsA(first, CreateEnumStmt))
			name = ((CreateEnumStmt *) first)->typeName;
		else if (IsA(first, CompositeTypeStmt))
		{
			CompositeTypeStmt *c = (CompositeTypeStmt *) first;
			ListCell   *lc;

			name = list_make2(makeString(c->typevar->schemaname ? c->typevar->schemaname : ""),
							  makeString(c->typevar->relname));
			foreach(lc, c->coldeflist)
			{
				ColumnDef  *col = lfirst_node(ColumnDef, lc);

				check_type_name(col->typeName, ddl);
				if (col->constraints != NIL || col->raw_default != NULL)
					name = NIL;
			}
		}
		else if (IsA(first, CreateRangeStmt))
		{
			ListCell   *lc;

			name = ((CreateRangeStmt *) first)->typeName;
			foreach(lc, ((CreateRangeStmt *) first)->params)
			{
				DefElem    *p = lfirst_node(DefElem, lc);

				if (strcmp(p->defname, "subtype") == 0)
					check_type_name(defGetTypeName(p), ddl);
				else if (strcmp(p->defname, "canonical") == 0 || strcmp(p->defname, "subtype_diff") == 0 ||
						 strcmp(p->defname, "subtype_opclass") == 0)
				{
					if (qualified_elsewhere(defGetQualifiedName(p)))
						name = NIL;
				}
				else if (strcmp(p->defname, "multirange_type_name") == 0)
				{
					List	   *m = defGetQualifiedName(p);

					if (list_length(m) != 2 || strcmp(strVal(linitial(m)), dst_schema) != 0)
						name = NIL;
				}
				else if (strcmp(p->defname, "collation") != 0)
					name = NIL;
			}
		}
		else if (IsA(first, CreateDomainStmt))
		{
			CreateDomainStmt *d = (CreateDomainStmt *) first;
			ListCell   *lc;

			name = d->domainname;
			check_type_name(d->typeName, ddl);
			foreach(lc, d->constraints)
			{
				Constraint *con = lfirst_node(Constraint, lc);

				/* a domain's default is no place for nextval: as a check */
				if (con->contype == CONSTR_CHECK || con->contype == CONSTR_DEFAULT)
					check_expression(con->raw_expr, false, ddl);
				else if (con->contype != CONSTR_NOTNULL && con->contype != CONSTR_NULL)
					name = NIL;
				if (con->contype == CONSTR_CHECK && con->skip_validation)
					name = NIL;
			}
		}
		ok = list_length(name) == 2 && strcmp(strVal(linitial(name)), dst_schema) == 0;
	}
	else if (strcmp(kind, "comment") == 0)
		ok = list_length(stmts) == 1 && IsA(first, CommentStmt) &&
			comment_names_target((CommentStmt *) first, dst_schema, dst_tb);
	else if (strcmp(kind, "sequence") == 0)
	{
		/* a sequence of the table's schema, then at most OWNED BY a column of the table */
		CreateSeqStmt *c = IsA(first, CreateSeqStmt) ? (CreateSeqStmt *) first : NULL;
		ListCell   *lc;

		ok = c != NULL && c->sequence->schemaname != NULL &&
			strcmp(c->sequence->schemaname, dst_schema) == 0 && !c->if_not_exists &&
			c->sequence->relpersistence == RELPERSISTENCE_PERMANENT;
		if (ok)
			foreach(lc, c->options)
				if (strcmp(lfirst_node(DefElem, lc)->defname, "owned_by") == 0)
					ok = false;
		if (ok && list_length(stmts) == 2)
		{
			Node	   *second = lsecond_node(RawStmt, stmts)->stmt;
			AlterSeqStmt *a = IsA(second, AlterSeqStmt) ? (AlterSeqStmt *) second : NULL;
			DefElem    *opt;

			ok = a != NULL && list_length(a->options) == 1 &&
				strcmp(a->sequence->relname, c->sequence->relname) == 0 &&
				a->sequence->schemaname != NULL &&
				strcmp(a->sequence->schemaname, dst_schema) == 0;
			if (ok)
			{
				opt = linitial_node(DefElem, a->options);
				ok = strcmp(opt->defname, "owned_by") == 0 &&
					list_length((List *) opt->arg) == 3 &&
					strcmp(strVal(linitial((List *) opt->arg)), dst_schema) == 0 &&
					strcmp(strVal(lsecond((List *) opt->arg)), dst_tb) == 0;
			}
		}
	}
	if (ok)
		return;
bad:
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("structure statement of kind %s for table \"%s\".\"%s\" is not allowed",
					kind, dst_schema, dst_tb),
			 errdetail("Statement: %s", ddl)));
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
static void
run_statements(const char *ddl)
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
	run_statements(((StructureDef *) arg)->ddl);
}

/* Does the catalog query sql, given $1 task_id, $2 and $3, find a row? */
static bool
catalog_finds(const char *sql, int64 task_id, const char *arg2, const char *arg3)
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
	return catalog_finds("SELECT 1 FROM ape_resume.position WHERE task_id = $1 "
						 "AND schema = $2 AND tb = $3", task_id, schema, tb);
}

/* Has the task made sequence dst_schema.name (a done row)? */
static bool
task_made_sequence(int64 task_id, const char *dst_schema, const char *name)
{
	return catalog_finds("SELECT 1 FROM ape_resume.structure WHERE task_id = $1 "
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

bool
structure_type_is_safe(Oid typid)
{
	HeapTuple	tup;
	Form_pg_type t;
	bool		safe;

	check_stack_depth();
	if (!OidIsValid(typid))
		return false;
	if (structure_type_is_made(typid))
		return true;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	t = (Form_pg_type) GETSTRUCT(tup);
	if (OidIsValid(t->typelem) && t->typlen == -1 && t->typtype == TYPTYPE_BASE &&
		get_array_type(t->typelem) == typid)
		safe = structure_type_is_safe(t->typelem);	/* an array */
	else if (t->typtype == TYPTYPE_BASE || t->typtype == TYPTYPE_ENUM)
		safe = true;			/* input by C functions, or a label */
	else if (t->typtype == TYPTYPE_RANGE)
		safe = structure_type_is_safe(get_range_subtype(typid));
	else if (t->typtype == TYPTYPE_MULTIRANGE)
		safe = structure_type_is_safe(get_multirange_range(typid));
	else
		safe = false;			/* a domain or a composite the task did not make */
	ReleaseSysCache(tup);
	return safe;
}

/* A type named in a type's definition: one that is safe to use (above). */
static void
check_type_name(TypeName *tn, const char *ddl)
{
	Oid			typid = LookupTypeNameOid(NULL, tn, true);

	if (!structure_type_is_safe(typid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("it uses type %s, which is neither a base type, an enum, nor a type the task made",
						TypeNameToString(tn)),
				 errdetail("Statement: %s", ddl)));
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
	return catalog_finds("SELECT 1 FROM ape_resume.structure WHERE task_id = $1 AND tb IS NULL "
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
static void
load_made_types(int64 task_id)
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
	load_made_types(task_id);
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

/* A claimed object. */
typedef struct ClaimedObject
{
	int64		id;
	int64		task_id;
	char	   *kind;
	char	   *name;
	char	   *ddl;
	char	   *dst_schema;
	char	   *dst_tb;
	char	   *schema;
	char	   *tb;
	char	  **args;
	int			nargs;
	char	   *ref_schema;		/* a foreign key's referenced table, source names */
	char	   *ref_tb;
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
							  "s.schema, s.tb, s.args, s.ref_schema, s.ref_tb "
							  "FROM ape_resume.structure s "
							  "WHERE s.task_id = $1 AND s.state = 'pending' "
							  "AND ($2::text IS NULL OR (s.schema = $2 AND s.tb = $3 AND s.phase = 1)) "
							  "AND " TABLE_DONE("s.schema", "s.tb") " "
							  "AND (s.phase <> 2 OR s.ref_tb IS NULL OR (" TABLE_DONE("s.ref_schema", "s.ref_tb") " "
							  "     AND NOT EXISTS (SELECT 1 FROM ape_resume.structure x WHERE x.task_id = s.task_id "
							  "     AND x.state = 'pending' AND x.phase = 1 AND x.schema IN (s.schema, s.ref_schema) "
							  "     AND x.tb IN (s.tb, s.ref_tb)))) "
							  "AND (s.phase <> 3 OR (NOT EXISTS (SELECT 1 FROM ape_resume.position p "
							  "     WHERE p.task_id = s.task_id AND p.state NOT IN ('finished', 'skipped')) "
							  "     AND NOT EXISTS (SELECT 1 FROM ape_resume.structure x WHERE x.task_id = s.task_id "
							  "     AND x.state = 'pending' AND x.phase < 3))) "
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
		o->task_id = task_id;
		o->kind = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		o->name = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 3));
		v = SPI_getvalue(tup, desc, 4);
		o->ddl = v ? MemoryContextStrdup(cxt, v) : NULL;
		o->dst_schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 5));
		o->dst_tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 6));
		o->schema = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 7));
		o->tb = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 8));
		o->args = catalog_get_text_array(tup, desc, 9, &o->nargs, cxt);
		v = SPI_getvalue(tup, desc, 10);
		o->ref_schema = v ? MemoryContextStrdup(cxt, v) : NULL;
		v = SPI_getvalue(tup, desc, 11);
		o->ref_tb = v ? MemoryContextStrdup(cxt, v) : NULL;
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
							  "updated_at = pg_catalog.clock_timestamp() WHERE id = $1",
							  3, (Oid[]) {INT8OID, TEXTOID, TEXTOID}, args, nulls,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ape_resume.structure");
	catalog_as_owner_end(&cu);
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
	sink_run_ddl(psprintf("ALTER TABLE %s ALTER COLUMN %s RESTART WITH %s",
						   qualified, quote_identifier(col), restart));
}

/*
 * A sequence's value, last: args are the sequence's qualified name (in the
 * table's schema), the source's last_value ("" when the source role could
 * not read it), is_called, the column of the table it belongs to ("" for
 * none) and its increment.  The value is the source's, or past the
 * column's data if that is further (the source may have moved on since
 * the value was read, or the column be filled past it); the ddl only
 * shows it.
 */
static void
set_sequence_value(const ClaimedObject *o)
{
	List	   *names;
	int			nestlevel;
	char	   *bound = NULL;
	bool		ascending;
	char	   *value;
	bool		called;

	if (o->nargs != 5)
		elog(ERROR, "sequence value %s has %d arguments", o->name, o->nargs);
	names = stringToQualifiedNameList(o->args[0]);
	if (list_length(names) != 2 || strcmp(strVal(linitial(names)), o->dst_schema) != 0)
		elog(ERROR, "sequence %s is not in schema \"%s\"", o->args[0], o->dst_schema);
	ascending = strtoi64(o->args[4], NULL, 10) > 0;
	value = o->args[1][0] ? o->args[1] : NULL;
	called = strcmp(o->args[2], "t") == 0;
	nestlevel = pinned_spi_connect();
	if (o->args[3][0])
	{
		if (SPI_execute(psprintf("SELECT pg_catalog.%s(%s)::pg_catalog.int8::pg_catalog.text FROM %s.%s",
								 ascending ? "max" : "min", quote_identifier(o->args[3]),
								 quote_identifier(o->dst_schema), quote_identifier(o->dst_tb)),
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read column \"%s\" of the target", o->args[3]);
		if (SPI_processed > 0)
			bound = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (bound != NULL &&
		(value == NULL ||
		 (ascending ? strtoi64(bound, NULL, 10) >= strtoi64(value, NULL, 10)
		  : strtoi64(bound, NULL, 10) <= strtoi64(value, NULL, 10))))
	{
		value = bound;
		called = true;
	}
	if (value != NULL &&
		SPI_execute_with_args("SELECT pg_catalog.setval($1::pg_catalog.text::pg_catalog.regclass, $2, $3)",
							  3, (Oid[]) {TEXTOID, INT8OID, BOOLOID},
							  (Datum[]) {CStringGetTextDatum(o->args[0]),
							  Int64GetDatum(strtoi64(value, NULL, 10)), BoolGetDatum(called)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not set the value of sequence %s", o->args[0]);
	pinned_spi_finish(nestlevel);
}

/* Create one claimed object, in the caller's (sub)transaction. */
static void
create_object(const ClaimedObject *o, const TaskConfig *config)
{
	char	   *ref_schema = NULL;
	char	   *ref_tb = NULL;

	if (strcmp(o->kind, "sequence_value") == 0)
	{
		set_sequence_value(o);
		return;
	}
	if (o->ref_schema)
	{
		name_filter_route(&config->filter, o->ref_schema, o->ref_tb, &ref_schema, &ref_tb);
		/*
		 * One foreign key of the task at a time: two that lock the same
		 * two tables in turn (a -> b, b -> a) would deadlock.
		 */
		sink_run_ddl(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, %d)",
							   APE_FK_LOCK_CLASS, (int32) (o->task_id & 0x7fffffff)));
	}
	structure_check_ddl(o->kind, o->ddl, o->dst_schema, o->dst_tb, ref_schema, ref_tb);
	run_statements(o->ddl);
	if (strcmp(o->kind, "identity") == 0 && o->nargs > 0)
		restart_identity(o);
}

void
structure_check_failed(int64 task_id, const TaskConfig *config)
{
	CatalogUser cu;
	char	   *first = NULL;
	int64		n = 0;

	if (config->structure_conflict_ignore)
		return;
	task_xact_begin();
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
	task_xact_commit();
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not create " INT64_FORMAT " structure objects, the first: %s", n, first),
				 errdetail("The data is copied; view ape_resume.structures lists the objects and their errors."),
				 errhint("Fix the cause and resume the task, which tries them again, or set conflict_policy=ignore in section [sinker] to finish without them.")));
}

/* How long a worker with no table left waits between looks for objects. */
#define STRUCTURE_WAIT_MS 200

/*
 * Do other live workers of the task copy tables (whose objects will be
 * ready when they finish)?
 */
static bool
others_copying(int64 task_id)
{
	CatalogUser cu;
	List	   *pids = NIL;
	ListCell   *lc;

	catalog_as_owner_begin(&cu);
	if (SPI_execute_with_args("SELECT DISTINCT p.worker_pid FROM ape_resume.position p WHERE p.task_id = $1 "
							  "AND p.state IN ('pending', 'copying') AND p.worker_pid <> $2 "
							  "AND p.worker_pid IN (SELECT w.pid FROM ape_resume.worker w WHERE w.task_id = $1) "
							  "AND EXISTS (SELECT 1 FROM ape_resume.structure s WHERE s.task_id = $1 "
							  "            AND s.schema = p.schema AND s.tb = p.tb AND s.state = 'pending')",
							  2, (Oid[]) {INT8OID, INT4OID},
							  (Datum[]) {Int64GetDatum(task_id), Int32GetDatum(MyProcPid)},
							  NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ape_resume.position");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		pids = lappend_int(pids, pid);
	}
	catalog_as_owner_end(&cu);
	/* a worker ended by pg_terminate_backend leaves its rows: it is not waited for */
	foreach(lc, pids)
		if (task_worker_alive(lfirst_int(lc)))
			return true;
	return false;
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
		task_xact_begin();
		if (checkpoint_stop_requested(task_id))
		{
			task_xact_commit();
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			return false;
		}
		/* the types its objects may cast to: those the task made by now */
		load_made_types(task_id);
		if (!claim_object(task_id, table ? table->schema : NULL, table ? table->tb : NULL, &o))
		{
			/*
			 * Nothing to make now.  A worker with no table left helps with
			 * the objects of the tables others still copy, as they finish.
			 */
			bool		wait = table == NULL && others_copying(task_id);

			task_xact_commit();
			if (!wait)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 STRUCTURE_WAIT_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		pgstat_report_activity(STATE_RUNNING, o.ddl);

		owner = CurrentResourceOwner;
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			create_object(&o, config);
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
			task_xact_commit();
			task_log(config, "INFO", "created %s %s of table \"%s\".\"%s\"",
					 o.kind, quote_identifier(o.name), o.schema, o.tb);
			continue;
		}
		set_object_state(o.id, "failed", edata->message);
		task_xact_commit();
		task_log(config, "WARN", "could not create %s \"%s\" of table \"%s\".\"%s\": %s",
				 o.kind, o.name, o.schema, o.tb, edata->message);
	}
	pgstat_report_activity(STATE_RUNNING, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return true;
}
