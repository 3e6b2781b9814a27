/*-------------------------------------------------------------------------
 *
 * order_key.h
 *	  The order key of a table, for the sources that have keys (MySQL,
 *	  PostgreSQL): which key orders the copy, the keyset predicate that
 *	  resumes after a position, and positions (the key's values, as text).
 *
 * The order key, first that applies:
 *	1. the single-column primary key;
 *	2. a single-column unique key on a NOT NULL column;
 *	3. the composite primary key;
 *	4. a composite unique key whose columns are all NOT NULL;
 *	5. a single-column unique key on a nullable column that holds no NULL;
 *	6. none: the table is copied in one transaction.
 * Among keys of one rule, the source's order of the candidates decides
 * (by index name).  A key the task already holds a position on comes
 * before the rules while it is still a usable key (see SourceKeptKey).  A key the source cannot scan in order, through its
 * index, is no candidate (see the sources).
 *
 * A position is an array of nkeys values (char *), never NULL; a position
 * array pointer NULL is "from the beginning".
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_ORDER_KEY_H
#define APE_ORDER_KEY_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "source.h"

/* A unique key of a table, found by a source. */
typedef struct KeyCandidate
{
	List	   *cols;			/* indexes in the table's columns (int), in key order */
	bool		primary;
	bool		orderable;		/* the source can scan it in order through its index */
	char	   *index;			/* the index's name at the source */
} KeyCandidate;

/* Does column col hold no NULL now?  (rule 5; asked of the source) */
typedef bool (*KeyNoNullCheck) (void *arg, const SourceTable *t, int col);

/*
 * A unique key on columns (no expression) that a source found: its column
 * names become t->primary_key (c->primary) or one more of t->unique_keys,
 * and c one more of the candidates, which are returned.
 */
extern List *order_key_add_candidate(SourceTable *t, List *candidates, KeyCandidate *c);

/*
 * Set t->nkeys, t->key_cols and t->key_index from the candidates: the key
 * of kept (SourceKeptKeys, see source.h) for t if it is still a usable
 * candidate, else by the rules.
 */
extern void order_key_choose(SourceTable *t, List *candidates, const List *kept,
							 KeyNoNullCheck no_null, void *arg);

/* A one-entry kept list holding t's order key (NIL if t has none). */
extern List *order_key_kept_of(const SourceTable *t);

/* How a source writes names and resume values into its SQL. */
typedef void (*KeyAppendIdent) (void *arg, StringInfo sql, const char *name);
typedef void (*KeyAppendValue) (void *arg, StringInfo sql, const SourceTable *t,
								int k, const char *value);

typedef enum KeysetForm
{
	KEYSET_ROW,					/* (k1, k2) > (v1, v2): PostgreSQL */
	KEYSET_EXPANDED				/* k1 > v1 OR (k1 = v1 AND k2 > v2): MySQL */
} KeysetForm;

/*
 * Append the predicate of the rows after position after (no WHERE), in
 * the form the source turns into a range of the key's index.
 */
extern void order_key_append_after(StringInfo sql, const SourceTable *t, char *const *after,
								   KeysetForm form, KeyAppendIdent ident,
								   KeyAppendValue value, void *arg);

/*
 * Append the WHERE clause of a scan of t (nothing when it has no
 * condition): its where_conditions, the rows after position after (NULL:
 * from the start) and, for a chunk, its range of the key's first column.
 */
extern void order_key_append_where(StringInfo sql, const SourceTable *t, char *const *after,
								   KeysetForm form, KeyAppendIdent ident,
								   KeyAppendValue value, void *arg);

/* Append "k1, k2, ..." (for ORDER BY). */
extern void order_key_append_columns(StringInfo sql, const SourceTable *t,
									 KeyAppendIdent ident, void *arg);

/* Positions */
extern char **order_key_copy(int nkeys, char *const *values);
extern bool order_key_equal(int nkeys, char *const *a, char *const *b);
extern void order_key_free(int nkeys, char **values);

/*
 * The key's column names and a position's values as users see them (in
 * progress, resume_plan, messages): the text itself for a single column,
 * a compact JSON array of strings for a composite key.
 */
extern char *order_key_names_text(const SourceTable *t);
extern char *order_key_values_text(int nkeys, char *const *values);

/* The key's column names, as an array of nkeys strings. */
extern char **order_key_names(const SourceTable *t);

/*
 * ERROR: key column k of t holds a NULL at the source (it had none when
 * the task started); a NULL can neither be a position nor be merged on.
 */
extern void order_key_null_error(const SourceTable *t, int k) pg_attribute_noreturn();

/* Is column name the key's column k?  Are names[0..n) the key, in order? */
extern bool order_key_matches(const SourceTable *t, int n, char *const *names);

#endif							/* APE_ORDER_KEY_H */
