/*-------------------------------------------------------------------------
 *
 * ape_resume.h
 *	  Declarations shared by every part of the ape_resume extension: the
 *	  GUC variables, the source kinds and small path helpers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_RESUME_H
#define APE_RESUME_H

/* GUC variables (src/ape_resume.c) */
extern char *ape_resume_database;
extern char *ape_resume_work_dir;
extern int	ape_resume_max_workers;

/* The kinds of source server a task can copy from. */
typedef enum SourceKind
{
	SOURCE_MYSQL,
	SOURCE_PG,
	SOURCE_MONGO
} SourceKind;

extern const char *source_kind_name(SourceKind kind);

/*
 * Resolve a path from a task config or an SQL argument: absolute paths are
 * kept, relative ones are taken against ape_resume.work_dir (itself relative
 * to the data directory when not absolute).  The result is canonical.
 */
extern char *ape_resolve_path(const char *path);

/* The work directory, absolute. */
extern char *ape_work_dir(void);

#endif							/* APE_RESUME_H */
