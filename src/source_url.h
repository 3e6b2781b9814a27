/*-------------------------------------------------------------------------
 *
 * source_url.h
 *	  Source URLs (mysql://, postgres://, mongodb://): what ape_resume reads
 *	  in them itself, whatever the source's client library does with them.
 *
 * The user info of a URL ends at the last '@' before the first '/', '?' or
 * '#' after the scheme, as every source reads it (url_mask_password knows
 * libpq's wider reading for display).
 *
 *-------------------------------------------------------------------------
 */
#ifndef APE_SOURCE_URL_H
#define APE_SOURCE_URL_H

#include "ape_resume.h"

/* Does url start with a scheme of this kind of source? */
extern bool url_has_scheme(const char *url, SourceKind kind);

/* The '@' that ends the user info of auth (just after "://"), or NULL. */
extern const char *url_userinfo_at(const char *auth);

/*
 * The URL with [extractor] username and password in its user info, as
 * ape-dts merges them: percent-encoded, each replacing the URL's own when
 * set (NULL: the URL's stays).
 */
extern char *url_with_credentials(const char *url, const char *user, const char *password);

/*
 * The server and database of a URL, without credentials or options:
 * "<db_type>://host:port[,host:port]" and, but for MySQL (a table's
 * database is its schema), the database path.
 */
extern char *url_server_identity(const char *url, SourceKind kind);

/* The source URL with its password replaced by "*****". */
extern char *url_mask_password(const char *url);

#endif							/* APE_SOURCE_URL_H */
