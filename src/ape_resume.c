/*-------------------------------------------------------------------------
 *
 * ape_resume.c
 *	  Module entry point: the GUCs and the paths they define.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "ape_resume.h"
#include "copy_binary.h"
#include "worker.h"

PG_MODULE_MAGIC;

char	   *ape_resume_database = NULL;
char	   *ape_resume_work_dir = NULL;
int			ape_resume_max_workers = 4;

void		_PG_init(void);

void
_PG_init(void)
{

	DefineCustomStringVariable("ape_resume.work_dir",
							   "Base directory for relative paths in task configs and SQL calls.",
							   "Relative to the data directory when not absolute.",
							   &ape_resume_work_dir,
							   "ape_resume",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("ape_resume.max_workers",
							"Maximum number of background workers copying tables at once, over all tasks.",
							NULL,
							&ape_resume_max_workers,
							4,
							1,
							1024,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ape_resume.binary_copy",
							 "Ingest rows through COPY's binary format when every column's type allows it.",
							 "Off: always through COPY's text format (slower; the same values).",
							 &ape_resume_binary_copy,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * The launcher and its server-start setting exist only when the library
	 * is preloaded: a PGC_POSTMASTER variable cannot be defined later (a
	 * backend loading the library on demand would die of it).
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomStringVariable("ape_resume.database",
								   "Database in which the launcher finds the ape_resume catalog.",
								   NULL,
								   &ape_resume_database,
								   "postgres",
								   PGC_POSTMASTER,
								   0,
								   NULL, NULL, NULL);
		ape_launcher_register();
	}

	MarkGUCPrefixReserved("ape_resume");
}

const char *
source_kind_name(SourceKind kind)
{
	switch (kind)
	{
		case SOURCE_MYSQL:
			return "mysql";
		case SOURCE_PG:
			return "pg";
		case SOURCE_MONGO:
			return "mongo";
	}
	return "unknown";
}

char *
ape_work_dir(void)
{
	char	   *dir;

	if (ape_resume_work_dir == NULL || ape_resume_work_dir[0] == '\0')
		dir = pstrdup(DataDir);
	else if (is_absolute_path(ape_resume_work_dir))
		dir = pstrdup(ape_resume_work_dir);
	else
	{
		dir = palloc(MAXPGPATH);
		join_path_components(dir, DataDir, ape_resume_work_dir);
	}
	canonicalize_path(dir);
	return dir;
}

char *
ape_resolve_path(const char *path)
{
	char	   *result;

	if (is_absolute_path(path))
		result = pstrdup(path);
	else
	{
		char	   *base = ape_work_dir();

		result = psprintf("%s/%s", base, path);
	}
	canonicalize_path(result);
	return result;
}
