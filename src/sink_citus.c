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

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"

#include "config.h"
#include "name_filter.h"
#include "privileges.h"
#include "sink_internal.h"
#include "table_rule.h"

/* Is Citus installed in this database? */
static bool
have_citus(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/*
 * Has the current transaction run a statement against a table of Citus's?
 * A lost connection then may be one to a worker node, not to the source.
 */
static bool wrote_citus = false;
static bool xact_callback_registered = false;

/* connections to a worker node a task worker keeps between its batches */
#define CITUS_CACHED_CONNS 8

static void
citus_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wrote_citus = false;
}

/*
 * A statement against a table of Citus's is about to run in this
 * transaction: its rows go to the worker nodes, and Citus commits them
 * there with two-phase commit after the local commit record.  That record
 * must be durable, on the coordinator and on its synchronous standbys,
 * before the nodes commit (the session's batches commit asynchronously
 * otherwise): a coordinator crash or failover must not lose the checkpoint
 * of rows the nodes kept.  So the transaction commits with the server's
 * synchronous_commit, at least on.
 */
void
sink_citus_statement(void)
{
	const char *sync = GetConfigOptionResetString("synchronous_commit");

	sink_citus_touched();
	if (strcmp(sync, "remote_apply") != 0 && strcmp(sync, "remote_write") != 0)
		sync = "on";
	(void) set_config_option("synchronous_commit", sync, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	/*
	 * A batch's COPY opens a connection a shard placement it writes; Citus
	 * keeps one a node between transactions by default, and each batch
	 * would open the others again (half the time of a copy): kept, up to
	 * one a shard of a node, unless the DBA allows more.
	 */
	if (GetConfigOption("citus.max_cached_conns_per_worker", true, false) != NULL &&
		atoi(GetConfigOption("citus.max_cached_conns_per_worker", true, false)) < CITUS_CACHED_CONNS)
		(void) set_config_option("citus.max_cached_conns_per_worker",
								 CppAsString2(CITUS_CACHED_CONNS), PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
}

void
sink_citus_touched(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(citus_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wrote_citus = true;
}

bool
sink_citus_in_transaction(void)
{
	return wrote_citus;
}

/*
 * Citus's recover_prepared_transactions(): commit or roll back what a crash
 * (of the coordinator, or of a worker node during a commit) left prepared on
 * the worker nodes, as the coordinator's own commit records decide.  Citus's
 * maintenance daemon does it too, every citus.recover_2pc_interval; a run
 * does it first, so that it starts from what the nodes hold, and rows a
 * committed checkpoint counts are visible before the task says finished.
 * The function is the superuser's: it runs with the rights of the
 * extension's owner, under the pinned search_path.  Unreachable nodes are
 * Citus's WARNING; a failure of ours (the owner is no superuser, say) is a
 * WARNING too, and the run goes on: the daemon recovers later.
 */
void
sink_recover_citus(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (!have_citus())
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		CatalogUser cu;

		catalog_as_owner_begin(&cu);
		if (SPI_execute("SELECT pg_catalog.recover_prepared_transactions()", false, 0) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not run recover_prepared_transactions()");
		else
		{
			bool		isnull;
			Datum		n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull && DatumGetInt32(n) > 0)
				ereport(LOG,
						(errmsg("ape_resume: Citus recovered %d prepared transactions on the worker nodes",
								DatumGetInt32(n))));
		}
		catalog_as_owner_end(&cu);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("could not recover the prepared transactions on Citus's worker nodes: %s",
						edata->message),
				 errdetail("Citus's maintenance daemon recovers them within citus.recover_2pc_interval; until then rows of committed batches on a node may not be visible."),
				 errhint("A superuser can run SELECT recover_prepared_transactions() on the coordinator.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

void
sink_citus_check_config(const TaskConfig *config)
{
	if (config->citus && !have_citus())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the keys of section [citus] need the Citus extension in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Run the task on a Citus coordinator, or leave out section [citus].")));
}

/* Is the key (target column names) on column col? */
static bool
key_has_column(List *key, const char *col)
{
	ListCell   *lc;

	foreach(lc, key)
		if (strcmp(lfirst(lc), col) == 0)
			return true;
	return false;
}

/*
 * The distributed table to colocate with, qualified, or "default" with the
 * shard count to ask for in *shard_count.
 */
static char *
colocate_target(const TaskConfig *config, const SourceTable *table, const TableRule *rule,
				int *shard_count)
{
	const TableRule *other;
	char	   *schema;
	char	   *tb;
	Oid			nsp;
	Oid			relid;

	*shard_count = rule->shard_count;
	if (rule->colocate_db == NULL)
		return "default";
	name_filter_route(&config->filter, rule->colocate_db, rule->colocate_tb, &schema, &tb);
	nsp = get_namespace_oid(schema, true);
	relid = OidIsValid(nsp) ? get_relname_relid(tb, nsp) : InvalidOid;
	if (OidIsValid(relid) && sink_is_citus_table(relid))
	{
		*shard_count = 0;		/* the other's */
		return sink_qualified_name(schema, tb);
	}
	/*
	 * Not made yet (tables are copied largest first, in parallel): Citus's
	 * default group of the other's shard count, where the other goes too
	 * (Citus colocates by default tables of one distribution column type
	 * and shard count).
	 */
	other = table_rule_find(config->filter.table_rules, rule->colocate_db, rule->colocate_tb);
	if (other == NULL || other->dist_column == NULL || other->colocate_db != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source table \"%s\".\"%s\" is to be colocated with table \"%s\".\"%s\", which is no distributed table and not distributed by distribution_columns of section [citus]",
						table->schema, table->tb, rule->colocate_db, rule->colocate_tb),
				 errhint("Distribute that table first, or give it an entry of its own without colocate_with.")));
	*shard_count = other->shard_count;
	return "default";
}

/*
 * The [citus] setting of a source table, checked: its distribution column
 * (NULL: not distributed by the config) with *rule, or *reference.
 */
static const SourceColumn *
citus_setting(const TaskConfig *config, const SourceTable *table, const TableRule **rule,
			  bool *reference)
{
	const SourceColumn *col = NULL;
	ListCell   *lc;

	*reference = false;
	*rule = table_rule_find(config->filter.table_rules, table->schema, table->tb);
	if (*rule != NULL && (*rule)->dist_column == NULL)
		*rule = NULL;
	foreach(lc, config->citus_reference)
	{
		const NamePattern *p = lfirst(lc);

		if (name_part_matches(&p->db, table->schema) && name_part_matches(&p->tb, table->tb))
			*reference = true;
	}
	if (*rule != NULL && *reference)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source table \"%s\".\"%s\" is named in both distribution_columns and reference_tables of section [citus]",
						table->schema, table->tb)));
	if (*rule == NULL)
		return NULL;
	for (int i = 0; i < table->ncolumns; i++)
		if (strcmp(table->columns[i].name, (*rule)->dist_column) == 0)
			col = &table->columns[i];
	if (col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("source table \"%s\".\"%s\" has no column \"%s\" to distribute its target by",
						table->schema, table->tb, (*rule)->dist_column),
				 errdetail("The column is named in distribution_columns of section [citus].")));
	/* Citus enforces a unique key only with the distribution column in it */
	if (table->primary_key != NIL && !key_has_column(table->primary_key, source_column_target(col)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the primary key of source table \"%s\".\"%s\" does not hold its distribution column \"%s\"",
						table->schema, table->tb, (*rule)->dist_column),
				 errdetail("Citus enforces a primary key or unique key of a distributed table only when it holds the distribution column."),
				 errhint("Distribute the table by a column of its primary key, or make it a reference table.")));
	foreach(lc, table->unique_keys)
		if (!key_has_column(lfirst(lc), source_column_target(col)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a unique key of source table \"%s\".\"%s\" does not hold its distribution column \"%s\"",
							table->schema, table->tb, (*rule)->dist_column),
					 errdetail("Citus enforces a primary key or unique key of a distributed table only when it holds the distribution column."),
					 errhint("Distribute the table by a column of all its unique keys, or make it a reference table.")));
	if (!col->not_null)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("distribution column \"%s\" of source table \"%s\".\"%s\" may hold NULL",
						(*rule)->dist_column, table->schema, table->tb),
				 errdetail("Citus refuses a row whose distribution column is NULL."),
				 errhint("Distribute the table by a NOT NULL column, or make it a reference table.")));
	return col;
}

/* A column's target type (Citus colocates by the type, not its modifier) */
static Oid
column_type(const SourceColumn *col)
{
	Oid			typid;
	int32		typmod;

	parseTypeString(col->pg_type, &typid, &typmod, false);
	return typid;
}

void
sink_citus_check_tables(const TaskConfig *config, List *tables)
{
	ListCell   *lc;

	if (!config->citus || config->check)
		return;
	sink_citus_check_config(config);
	foreach(lc, tables)
	{
		const SourceTable *t = lfirst(lc);
		const TableRule *rule;
		const TableRule *other_rule;
		bool		reference;
		const SourceColumn *col = citus_setting(config, t, &rule, &reference);
		ListCell   *lc2;

		if (col == NULL || rule->colocate_db == NULL)
			continue;
		/* colocated tables: distribution columns of one type (Citus's rule) */
		foreach(lc2, tables)
		{
			const SourceTable *u = lfirst(lc2);
			const SourceColumn *other;

			if (strcmp(u->schema, rule->colocate_db) != 0 || strcmp(u->tb, rule->colocate_tb) != 0)
				continue;
			other = citus_setting(config, u, &other_rule, &reference);
			if (other != NULL && column_type(other) != column_type(col))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source table \"%s\".\"%s\" cannot be colocated with table \"%s\".\"%s\": their distribution columns are of different types",
								t->schema, t->tb, u->schema, u->tb),
						 errdetail("Column \"%s\" is %s, column \"%s\" is %s.",
								   col->name, col->pg_type, other->name, other->pg_type)));
		}
	}
}

bool
sink_citus_distribute(const TaskConfig *config, const SourceTable *table,
					  const char *dst_schema, const char *dst_tb)
{
	const TableRule *rule;
	bool		reference;
	const SourceColumn *col;
	const char *target = sink_qualified_name(dst_schema, dst_tb);
	int			nestlevel;
	int			rc;
	Oid			relid;

	if (!config->citus)
		return false;
	/* Citus there: sink_citus_check_tables said so when the run began */
	col = citus_setting(config, table, &rule, &reference);
	if (col == NULL && !reference)
		return false;

	relid = get_relname_relid(dst_tb, get_namespace_oid(dst_schema, false));
	sink_citus_statement();
	nestlevel = pinned_spi_connect();
	if (rule != NULL)
	{
		int			shard_count;
		char	   *with = colocate_target(config, table, rule, &shard_count);
		/* no NULL for Citus's defaults: the function is strict, it would do nothing */
		bool		shards = shard_count > 0;

		rc = SPI_execute_with_args(shards ? "SELECT pg_catalog.create_distributed_table($1, $2, "
								   "colocate_with => $3, shard_count => $4)"
								   : "SELECT pg_catalog.create_distributed_table($1, $2, colocate_with => $3)",
								   shards ? 4 : 3, (Oid[]) {REGCLASSOID, TEXTOID, TEXTOID, INT4OID},
								   (Datum[]) {ObjectIdGetDatum(relid),
									   CStringGetTextDatum(source_column_target(col)),
									   CStringGetTextDatum(with),
									   Int32GetDatum(shard_count)},
								   NULL, false, 0);
	}
	else
		rc = SPI_execute_with_args("SELECT pg_catalog.create_reference_table($1)",
								   1, (Oid[]) {REGCLASSOID},
								   (Datum[]) {ObjectIdGetDatum(relid)}, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not distribute %s: %s", target, SPI_result_code_string(rc));
	pinned_spi_finish(nestlevel);
	elog(DEBUG1, "target %s of source table \"%s\".\"%s\" made a Citus %s table",
		 target, table->schema, table->tb, rule != NULL ? "distributed" : "reference");
	return reference;
}

/*
 * Before rows already in a Citus target are replaced: nothing left prepared
 * on the worker nodes.  The replace path deletes the rows it is about to
 * insert again; a row of a batch whose checkpoint committed but whose
 * shard write a crash left prepared on a node is invisible to that DELETE,
 * and would be there twice once Citus commits it.  Citus recovers them
 * first; what it could not (a node unreachable, a WARNING of Citus's) is
 * waited for a moment (another session's commit in flight), then an ERROR.
 */
void
sink_citus_settle(const char *target)
{
	MemoryContext cxt = CurrentMemoryContext;

	sink_citus_touched();
	for (int attempt = 1;; attempt++)
	{
		int			nestlevel;
		bool		isnull;
		bool		reached;
		int64		left;
		char	   *nodes;

		sink_recover_citus();
		nestlevel = pinned_spi_connect();
		/* what Citus's recovery decides: this database's, this coordinator's */
		if (SPI_execute("SELECT COALESCE(pg_catalog.bool_and(success), true), "
						"COALESCE(pg_catalog.sum(result::pg_catalog.int8) FILTER (WHERE success), 0)::pg_catalog.int8, "
						"pg_catalog.string_agg(nodeid || ': ' || result, ', ') "
						"FROM pg_catalog.run_command_on_all_nodes(pg_catalog.format("
						"'SELECT pg_catalog.count(*) FROM pg_catalog.pg_prepared_xacts "
						"WHERE database OPERATOR(pg_catalog.=) %L AND gid OPERATOR(pg_catalog.~~) %L', "
						"pg_catalog.current_database(), "
						"'citus\\_' || (SELECT groupid FROM pg_catalog.pg_dist_local_group) || '\\_%'))",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not count the prepared transactions of Citus's nodes");
		reached = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		left = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		nodes = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		nodes = nodes ? MemoryContextStrdup(cxt, nodes) : NULL;
		pinned_spi_finish(nestlevel);
		if (reached && left == 0)
			return;
		if (!reached || attempt >= 10)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot replace rows already in Citus table %s: %s", target,
							reached ? "prepared transactions are left on the worker nodes"
							: "a worker node cannot be reached"),
					 errdetail("Rows that a crash left in a prepared transaction on a node are not seen until Citus commits them; replaced now, they would be there twice.  The nodes (by node id) say: %s.",
							   nodes ? nodes : "nothing"),
					 errhint("Once every node is up, have a superuser run SELECT recover_prepared_transactions() on the coordinator, then resume the task.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 500,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

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

	if (!have_citus())
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

bool
sink_is_citus_target(const char *dst_schema, const char *dst_tb)
{
	Oid			nsp = get_namespace_oid(dst_schema, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(dst_tb, nsp) : InvalidOid;

	return OidIsValid(relid) && sink_is_citus_table(relid);
}

/*
 * The batch into a table of Citus's, through Citus's own COPY path, which
 * sends each row to its shard: the batch goes into a temporary stage table
 * of this session with the in-process COPY, then INSERT ... SELECT from the
 * stage into the target, which Citus runs through the coordinator (the
 * stage read here, the rows COPYed to their shards over a connection a
 * placement at once) in the batch's transaction; Citus commits it on the
 * nodes with two-phase commit, the checkpoint row with it.  No file, no
 * right beyond INSERT on the target (Citus's COPY from a file would need a
 * superuser).
 */
uint64
sink_copy_into_citus(const SourceTable *table, const char *dst_schema, const char *dst_tb,
					 SinkRowFeed feed, SinkLineFeed line_feed, void *arg)
{
	char	   *target = sink_qualified_name(dst_schema, dst_tb);
	char	   *cols;
	uint64		rows;
	uint64		inserted;
	char	   *stage = sink_stage_batch(table, dst_schema, dst_tb, feed, line_feed, arg,
										 &cols, &rows);

	sink_citus_statement();
	inserted = sink_insert_staged(target, cols, stage);
	if (inserted != rows)
		elog(ERROR, "Citus inserted " UINT64_FORMAT " rows of a batch of " UINT64_FORMAT " into %s",
			 inserted, rows, target);
	return rows;
}
