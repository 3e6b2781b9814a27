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

#include "lib/stringinfo.h"

#include "source.h"
#include "table_rule.h"

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

/* ERROR for a column named in a rule that the table does not have. */
static void
rule_names_missing_column(const SourceTable *t, const char *key, const char *section,
						  const char *col)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" named in %s of section [%s] does not exist in source table \"%s\".\"%s\"",
					col, key, section, t->schema, t->tb)));
}

void
source_table_apply_rule(SourceTable *t, const NameFilter *filter, int **old_index)
{
	const TableRule *rule = table_rule_find(filter->table_rules, t->schema, t->tb);
	int		   *from = palloc(sizeof(int) * Max(t->ncolumns, 1));
	ListCell   *lc;
	int			n = 0;

	if (rule != NULL)
	{
		foreach(lc, rule->ignore_cols)
			if (source_column_index(t, lfirst(lc)) < 0)
				rule_names_missing_column(t, "ignore_cols", "filter", lfirst(lc));
		foreach(lc, rule->col_map)
		{
			ColumnRename *cr = lfirst(lc);

			if (source_column_index(t, cr->src) < 0)
				rule_names_missing_column(t, "col_map", "router", cr->src);
			if (table_rule_ignores(rule, cr->src))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" of source table \"%s\".\"%s\" is both in ignore_cols and in col_map",
								cr->src, t->schema, t->tb)));
		}
		t->where = rule->where;
	}
	for (int i = 0; i < t->ncolumns; i++)
	{
		if (table_rule_ignores(rule, t->columns[i].name))
			continue;
		from[n] = i;
		t->columns[n] = t->columns[i];
		t->columns[n].dst_name = pstrdup(table_rule_target_name(rule, t->columns[i].name));
		n++;
	}
	t->ncolumns = n;
	/* two columns with one target name: a rename onto a column kept */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(t->columns[i].dst_name, t->columns[j].dst_name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("columns \"%s\" and \"%s\" of source table \"%s\".\"%s\" would both be target column \"%s\"",
								t->columns[i].name, t->columns[j].name, t->schema, t->tb,
								t->columns[i].dst_name),
						 errhint("Change col_map of section [router].")));
	if (old_index != NULL)
		*old_index = from;
	else
		pfree(from);
}

void
source_check_rules_used(const NameFilter *filter, const List *tables)
{
	ListCell   *lc;

	foreach(lc, filter->table_rules)
	{
		const TableRule *r = lfirst(lc);
		ListCell   *lc2;
		bool		found = false;
		StringInfoData keys;

		foreach(lc2, tables)
		{
			const SourceTable *t = lfirst(lc2);

			if (strcmp(t->schema, r->db) == 0 && strcmp(t->tb, r->tb) == 0)
				found = true;
		}
		if (found)
			continue;
		initStringInfo(&keys);
		if (r->where != NULL)
			appendStringInfoString(&keys, "where_conditions");
		if (r->ignore_cols != NIL)
			appendStringInfo(&keys, "%signore_cols", keys.len > 0 ? ", " : "");
		if (r->col_map != NIL)
			appendStringInfo(&keys, "%scol_map", keys.len > 0 ? ", " : "");
		if (r->dist_column != NULL)
			appendStringInfo(&keys, "%sdistribution_columns", keys.len > 0 ? ", " : "");
		/*
		 * A table the filters select that the source does not have: a typo
		 * (or a case) that would copy the table it meant without its rule.
		 */
		if (name_filter_wants_table(filter, r->db, r->tb) && !filter->named_may_be_missing)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table \"%s\".\"%s\" named in %s does not exist at the source",
							r->db, r->tb, keys.data),
					 errhint("Names in these keys are exact, as the source spells them.")));
		ereport(WARNING,
				(errmsg("table \"%s\".\"%s\" named in %s is not copied by this task",
						r->db, r->tb, keys.data)));
	}
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
