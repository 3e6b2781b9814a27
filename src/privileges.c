/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  The privilege model of DESIGN.md.
 *
 * EXECUTE on every function is revoked from PUBLIC.  Starting a task reads
 * and writes server files, so it also takes superuser or the privileges of
 * both pg_read_server_files and pg_write_server_files.  The catalog tables
 * are readable by the extension's owner only (a task's config holds the
 * source password); the API functions reach them by switching to that
 * owner for their own statements, as PostgreSQL does for RI checks.
 *
 * Every statement ape_resume runs through SPI, as the owner or as the
 * caller, is parsed under a pinned search_path (pg_catalog, pg_temp) in a
 * GUC nest level of its own, as extension scripts are (extension.c): no
 * operator, function or type is resolved through a path the caller
 * controls, and the caller's setting is restored afterwards (on an ERROR,
 * by the transaction's abort).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "privileges.h"

void
check_file_privileges(const char *action, bool need_write)
{
	Oid			user = GetUserId();

	if (superuser())
		return;
	if (has_privs_of_role(user, ROLE_PG_READ_SERVER_FILES) &&
		(!need_write || has_privs_of_role(user, ROLE_PG_WRITE_SERVER_FILES)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", action),
			 need_write ?
			 errdetail("Only superusers and roles with privileges of both the \"pg_read_server_files\" and \"pg_write_server_files\" roles may %s.", action) :
			 errdetail("Only superusers and roles with privileges of the \"pg_read_server_files\" role may %s.", action)));
}

void
check_task_owner(const char *task_name, Oid owner)
{
	if (superuser() || has_privs_of_role(GetUserId(), owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for task \"%s\"", task_name),
			 errdetail("Only the role that started the task, its members and superusers may manage it.")));
}

/* The owner of the ape_resume extension. */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("ape_resume"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		v = heap_getattr(tuple, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
		version = isnull ? pstrdup("") : TextDatumGetCString(v);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"ape_resume\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Run CREATE EXTENSION ape_resume.")));
	/* this library reads and writes the catalog of its own version only */
	if (strcmp(version, APE_CATALOG_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the ape_resume catalog of database \"%s\" is at version %s, the library needs %s",
						get_database_name(MyDatabaseId), version, APE_CATALOG_VERSION),
				 errhint("Run ALTER EXTENSION ape_resume UPDATE.")));
	return owner;
}

int
pinned_spi_connect(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", APE_PINNED_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	return nestlevel;
}

void
pinned_spi_finish(int nestlevel)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	AtEOXact_GUC(true, nestlevel);
}

void
catalog_as_owner_begin(CatalogUser *save)
{
	Oid			owner = extension_owner();

	GetUserIdAndSecContext(&save->save_userid, &save->save_sec_context);
	SetUserIdAndSecContext(owner, save->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save->nestlevel = pinned_spi_connect();
}

void
catalog_as_owner_end(CatalogUser *save)
{
	pinned_spi_finish(save->nestlevel);
	SetUserIdAndSecContext(save->save_userid, save->save_sec_context);
}

static bool superuser_cached = false;

void
cache_superuser(void)
{
	superuser_cached = superuser();
}

bool
current_user_is_superuser(void)
{
	return IsTransactionState() ? superuser() : superuser_cached;
}
