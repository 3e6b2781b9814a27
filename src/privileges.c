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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
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

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("ape_resume"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"ape_resume\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Run CREATE EXTENSION ape_resume.")));
	return owner;
}

void
catalog_as_owner_begin(CatalogUser *save)
{
	Oid			owner = extension_owner();

	GetUserIdAndSecContext(&save->save_userid, &save->save_sec_context);
	SetUserIdAndSecContext(owner, save->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
catalog_as_owner_end(CatalogUser *save)
{
	SPI_finish();
	SetUserIdAndSecContext(save->save_userid, save->save_sec_context);
}
