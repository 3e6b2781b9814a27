/*-------------------------------------------------------------------------
 *
 * structure_check.c
 *	  What a statement of the schema after the data may be (structure.h):
 *	  exactly the shape its kind makes, on the task's own target table;
 *	  expressions from a source calling only pg_catalog's functions that
 *	  are not volatile; types made only of safe types.  And the splice
 *	  that puts the target's name into a definition the target's parser
 *	  read.
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
