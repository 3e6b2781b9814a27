/*-------------------------------------------------------------------------
 *
 * order_key.c
 *	  The order key of a table: its choice, the keyset predicate of a
 *	  resume, and positions.  See order_key.h for the rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "order_key.h"
#include "position.h"

/* Are all the candidate's columns NOT NULL? */
static bool
all_not_null(const SourceTable *t, const KeyCandidate *c)
{
	ListCell   *lc;

	foreach(lc, c->cols)
		if (!t->columns[lfirst_int(lc)].not_null)
			return false;
	return true;
}

static void
take_key(SourceTable *t, const KeyCandidate *c)
{
	ListCell   *lc;
	int			k = 0;

	t->nkeys = list_length(c->cols);
	t->key_cols = palloc(sizeof(int) * t->nkeys);
	foreach(lc, c->cols)
		t->key_cols[k++] = lfirst_int(lc);
	t->key_index = c->index ? pstrdup(c->index) : NULL;
}

List *
order_key_add_candidate(SourceTable *t, List *candidates, KeyCandidate *c)
{
	List	   *names = NIL;
	ListCell   *lc;

	/* for the target's keys: target names */
	foreach(lc, c->cols)
		names = lappend(names, (char *) source_column_target(&t->columns[lfirst_int(lc)]));
	if (c->primary)
		t->primary_key = names;
	else
		t->unique_keys = lappend(t->unique_keys, names);
	return lappend(candidates, c);
}

/* Is candidate c on the columns names, in this order? */
static bool
candidate_is(const SourceTable *t, const KeyCandidate *c, int n, char *const *names)
{
	ListCell   *lc;
	int			k = 0;

	if (list_length(c->cols) != n)
		return false;
	foreach(lc, c->cols)
		if (strcmp(t->columns[lfirst_int(lc)].name, names[k++]) != 0)
			return false;
	return true;
}

/* The kept key of t, NULL if none. */
static const SourceKeptKey *
kept_key_of(const List *kept, const SourceTable *t)
{
	ListCell   *lc;

	foreach(lc, kept)
	{
		const SourceKeptKey *k = lfirst(lc);

		if (strcmp(k->schema, t->schema) == 0 && strcmp(k->tb, t->tb) == 0)
			return k;
	}
	return NULL;
}

List *
order_key_kept_of(const SourceTable *t)
{
	SourceKeptKey *k;

	if (t->nkeys == 0)
		return NIL;
	k = palloc(sizeof(SourceKeptKey));
	k->schema = t->schema;
	k->tb = t->tb;
	k->ncols = t->nkeys;
	k->cols = order_key_names(t);
	return list_make1(k);
}

void
order_key_choose(SourceTable *t, List *candidates, const List *kept,
				 KeyNoNullCheck no_null, void *arg)
{
	const SourceKeptKey *keep = kept_key_of(kept, t);
	ListCell   *lc;
	int			rule;

	t->nkeys = 0;
	t->key_cols = NULL;
	t->key_index = NULL;

	/* the key of the task's position, while it can still order the copy */
	if (keep != NULL)
	{
		foreach(lc, candidates)
		{
			KeyCandidate *c = lfirst(lc);

			if (!c->orderable || !candidate_is(t, c, keep->ncols, keep->cols))
				continue;
			if (c->primary || all_not_null(t, c) ||
				(list_length(c->cols) == 1 && no_null(arg, t, linitial_int(c->cols))))
			{
				take_key(t, c);
				return;
			}
		}
	}

	for (rule = 1; rule <= 5; rule++)
	{
		foreach(lc, candidates)
		{
			KeyCandidate *c = lfirst(lc);
			bool		single = list_length(c->cols) == 1;
			bool		nn;

			if (!c->orderable || c->cols == NIL)
				continue;
			nn = all_not_null(t, c);
			switch (rule)
			{
				case 1:
					if (!(c->primary && single))
						continue;
					break;
				case 2:
					if (!(!c->primary && single && nn))
						continue;
					break;
				case 3:
					if (!(c->primary && !single))
						continue;
					break;
				case 4:
					if (!(!c->primary && !single && nn))
						continue;
					break;
				case 5:

					/*
					 * A NULL cannot be a position ("> value" never finds the
					 * rows after it): a nullable column orders the copy only
					 * while it holds none; a NULL that comes later stops the
					 * copy with an error (see task_run.c).
					 */
					if (!(!c->primary && single && !nn &&
						  no_null(arg, t, linitial_int(c->cols))))
						continue;
					break;
			}
			take_key(t, c);
			return;
		}
	}
}

void
order_key_append_columns(StringInfo sql, const SourceTable *t, KeyAppendIdent ident, void *arg)
{
	for (int k = 0; k < t->nkeys; k++)
	{
		if (k > 0)
			appendStringInfoString(sql, ", ");
		ident(arg, sql, t->columns[t->key_cols[k]].name);
	}
}

void
order_key_append_after(StringInfo sql, const SourceTable *t, char *const *after,
					   KeysetForm form, KeyAppendIdent ident, KeyAppendValue value,
					   void *arg)
{
	int			n = t->nkeys;

	Assert(n > 0 && after != NULL);
	if (n == 1)
	{
		ident(arg, sql, t->columns[t->key_cols[0]].name);
		appendStringInfoString(sql, " > ");
		value(arg, sql, t, 0, after[0]);
		return;
	}
	if (form == KEYSET_ROW)
	{
		appendStringInfoChar(sql, '(');
		order_key_append_columns(sql, t, ident, arg);
		appendStringInfoString(sql, ") > (");
		for (int k = 0; k < n; k++)
		{
			if (k > 0)
				appendStringInfoString(sql, ", ");
			value(arg, sql, t, k, after[k]);
		}
		appendStringInfoChar(sql, ')');
		return;
	}

	/* (k1 > v1 OR (k1 = v1 AND k2 > v2) OR (k1 = v1 AND k2 = v2 AND k3 > v3)) */
	appendStringInfoChar(sql, '(');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(sql, " OR (");
		for (int k = 0; k <= i; k++)
		{
			if (k > 0)
				appendStringInfoString(sql, " AND ");
			ident(arg, sql, t->columns[t->key_cols[k]].name);
			appendStringInfoString(sql, k < i ? " = " : " > ");
			value(arg, sql, t, k, after[k]);
		}
		if (i > 0)
			appendStringInfoChar(sql, ')');
	}
	appendStringInfoChar(sql, ')');
}

char **
order_key_copy(int nkeys, char *const *values)
{
	char	  **copy;

	if (values == NULL)
		return NULL;
	copy = palloc(sizeof(char *) * Max(nkeys, 1));
	for (int k = 0; k < nkeys; k++)
		copy[k] = pstrdup(values[k]);
	return copy;
}

bool
order_key_equal(int nkeys, char *const *a, char *const *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (int k = 0; k < nkeys; k++)
		if (strcmp(a[k], b[k]) != 0)
			return false;
	return true;
}

void
order_key_free(int nkeys, char **values)
{
	if (values == NULL)
		return;
	for (int k = 0; k < nkeys; k++)
		pfree(values[k]);
	pfree(values);
}

char **
order_key_names(const SourceTable *t)
{
	char	  **names = palloc(sizeof(char *) * Max(t->nkeys, 1));

	for (int k = 0; k < t->nkeys; k++)
		names[k] = t->columns[t->key_cols[k]].name;
	return names;
}

char *
order_key_names_text(const SourceTable *t)
{
	if (t->nkeys == 0)
		return NULL;
	if (t->nkeys == 1)
		return t->columns[t->key_cols[0]].name;
	return position_json_string_array(order_key_names(t), t->nkeys);
}

char *
order_key_values_text(int nkeys, char *const *values)
{
	if (values == NULL)
		return NULL;
	if (nkeys == 1)
		return values[0];
	return position_json_string_array((char **) values, nkeys);
}

bool
order_key_matches(const SourceTable *t, int n, char *const *names)
{
	if (t->nkeys == 0 || n != t->nkeys || names == NULL)
		return false;
	for (int k = 0; k < n; k++)
		if (names[k] == NULL || strcmp(names[k], t->columns[t->key_cols[k]].name) != 0)
			return false;
	return true;
}

void
order_key_append_where(StringInfo sql, const SourceTable *t, char *const *after,
					   KeysetForm form, KeyAppendIdent ident, KeyAppendValue value,
					   void *arg)
{
	const char *sep = " WHERE ";

	/* the table's where_conditions, one expression (checked by the config) */
	if (t->where != NULL)
	{
		appendStringInfo(sql, "%s(%s)", sep, t->where);
		sep = " AND ";
	}
	if (t->nkeys == 0)
		return;
	if (after != NULL)
	{
		appendStringInfoString(sql, sep);
		order_key_append_after(sql, t, after, form, ident, value, arg);
		sep = " AND ";
	}
	/* a chunk: lo <= k1 < hi, a range of the key's index too */
	if (t->range_lo != NULL)
	{
		appendStringInfoString(sql, sep);
		ident(arg, sql, t->columns[t->key_cols[0]].name);
		appendStringInfoString(sql, " >= ");
		value(arg, sql, t, 0, t->range_lo);
		sep = " AND ";
	}
	if (t->range_hi != NULL)
	{
		appendStringInfoString(sql, sep);
		ident(arg, sql, t->columns[t->key_cols[0]].name);
		appendStringInfoString(sql, " < ");
		value(arg, sql, t, 0, t->range_hi);
	}
}

void
order_key_null_error(const SourceTable *t, int k)
{
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("order column \"%s\" of table \"%s\".\"%s\" holds a NULL",
					t->columns[t->key_cols[k]].name, t->schema, t->tb),
			 errdetail("The column had no NULL when the task started; a NULL cannot be a position, nor be merged on."),
			 errhint("Remove the NULL at the source and resume the task.")));
}
