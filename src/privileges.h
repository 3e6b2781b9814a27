/*-------------------------------------------------------------------------
 *
 * privileges.h
 *	  Who may do what: file privileges of the caller, task ownership, and
 *	  running catalog statements as the extension's owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_PRIVILEGES_H
#define APE_PRIVILEGES_H

/*
 * Raise an ERROR unless the current user is a superuser or has the
 * privileges of pg_read_server_files (and of pg_write_server_files when
 * need_write).  action completes "permission denied to ...".
 */
/* The catalog version (extversion) this library reads and writes. */
#define APE_CATALOG_VERSION "0.7.0"

extern void check_file_privileges(const char *action, bool need_write);

/* Raise an ERROR unless the current user may manage a task owned by owner. */
extern void check_task_owner(const char *task_name, Oid owner);

/* The search_path of every statement ape_resume runs. */
#define APE_PINNED_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * SPI_connect under the pinned search_path, in a new GUC nest level that
 * pinned_spi_finish() (given the returned level) closes, restoring the
 * caller's settings.  An ERROR in between is cleaned up by the abort.
 */
/*
 * Is the current user a superuser?  Also outside a transaction (a worker
 * connecting to its source), where the answer cached at the worker's start
 * by cache_superuser() is given.
 */
extern bool current_user_is_superuser(void);
extern void cache_superuser(void);

extern int	pinned_spi_connect(void);
extern void pinned_spi_finish(int nestlevel);

/* Saved identity while catalog statements run as the extension's owner. */
typedef struct CatalogUser
{
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
} CatalogUser;

/*
 * Switch to the extension's owner and connect SPI under the pinned
 * search_path; catalog_as_owner_end() undoes both.  An ERROR in between is cleaned up by transaction abort.
 */
extern void catalog_as_owner_begin(CatalogUser *save);
extern void catalog_as_owner_end(CatalogUser *save);

#endif							/* APE_PRIVILEGES_H */
