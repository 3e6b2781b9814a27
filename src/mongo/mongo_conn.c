/*-------------------------------------------------------------------------
 *
 * mongo_conn.c
 *	  The MongoDB source's connection: connect with libmongoc, release
 *	  the client, cursors and handles by a memory context callback,
 *	  report client errors as ERRORs with any password scrubbed, and
 *	  send libmongoc's own log lines to stderr.
 *
 * See mongo_internal.h for how the MongoDB source works as a whole.
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "mongo_internal.h"

/* Defaults unless the URL sets them: fail fast on an unreachable server. */
#define MONGO_SERVER_SELECTION_TIMEOUT_MS 5000
#define MONGO_CONNECT_TIMEOUT_MS 5000

static bool mongoc_initialized = false;

/*
 * libmongoc's own log lines (warnings about the server and the like) go to
 * the server's stderr, never through ereport, which could longjmp out of
 * the library.  Debug and trace levels are dropped.
 */
/*
 * While a URI is parsed: the first warning libmongoc logs about it (an
 * option it does not know, which it drops), or NULL.
 */
static bool uri_parsing = false;
static char *uri_warning = NULL;

static void
mongo_log_handler(mongoc_log_level_t level, const char *domain,
				  const char *message, void *user_data)
{
	if (uri_parsing && level <= MONGOC_LOG_LEVEL_WARNING && uri_warning == NULL)
	{
		/* no palloc in a callback of the library: a fixed copy */
		static char buf[512];

		strlcpy(buf, message, sizeof(buf));
		uri_warning = buf;
		return;
	}
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		write_stderr("ape_resume: libmongoc %s: %s: %s\n",
					 mongoc_log_level_str(level), domain, message);
}

/*
 * Memory context reset callback: destroy cursors, handles and the client,
 * in that order (a cursor still open is killed on the server).
 */
static void
mongo_source_release(void *arg)
{
	Source	   *s = (Source *) arg;

	if (s->meta_cursor)
		mongoc_cursor_destroy(s->meta_cursor);
	s->meta_cursor = NULL;
	if (s->meta_coll)
		mongoc_collection_destroy(s->meta_coll);
	s->meta_coll = NULL;
	if (s->meta_db)
		mongoc_database_destroy(s->meta_db);
	s->meta_db = NULL;
	if (s->meta_names)
		bson_strfreev(s->meta_names);
	s->meta_names = NULL;
	if (s->cursor)
		mongoc_cursor_destroy(s->cursor);
	s->cursor = NULL;
	if (s->coll)
		mongoc_collection_destroy(s->coll);
	s->coll = NULL;
	if (s->client)
		mongoc_client_destroy(s->client);
	s->client = NULL;
	if (s->uri)
		mongoc_uri_destroy(s->uri);
	s->uri = NULL;
	bson_destroy(&s->last_id);
}

/* A message from the client library with any password replaced. */
static char *
scrub(const Source *s, const char *msg)
{
	const char *secrets[2];
	char	   *out = pstrdup(msg);
	int			i;

	secrets[0] = s ? s->password : NULL;
	secrets[1] = s ? s->raw_password : NULL;
	for (i = 0; i < 2; i++)
	{
		StringInfoData buf;
		const char *p;
		const char *hit;
		size_t		n;

		if (secrets[i] == NULL || (n = strlen(secrets[i])) == 0)
			continue;
		initStringInfo(&buf);
		for (p = out; (hit = strstr(p, secrets[i])) != NULL; p = hit + n)
		{
			appendBinaryStringInfo(&buf, p, hit - p);
			appendStringInfoString(&buf, "*****");
		}
		appendStringInfoString(&buf, p);
		out = buf.data;
	}
	return out;
}

/* Is this error a lost server, connection or server-side cursor? */
static bool
is_connection_error(const bson_error_t *error)
{
	if (error->domain == MONGOC_ERROR_STREAM ||
		error->domain == MONGOC_ERROR_SERVER_SELECTION ||
		error->domain == MONGOC_ERROR_PROTOCOL)
		return true;
	if (error->domain == MONGOC_ERROR_SERVER || error->domain == MONGOC_ERROR_QUERY)
	{
		switch (error->code)
		{
			case 6:				/* HostUnreachable */
			case 7:				/* HostNotFound */
			case 43:			/* CursorNotFound */
			case 89:			/* NetworkTimeout */
			case 91:			/* ShutdownInProgress */
			case 189:			/* PrimarySteppedDown */
			case 9001:			/* SocketException */
			case 10107:			/* NotWritablePrimary */
			case 11600:			/* InterruptedAtShutdown */
			case 11602:			/* InterruptedDueToReplStateChange */
			case 13435:			/* NotPrimaryNoSecondaryOk */
			case 13436:			/* NotPrimaryOrSecondary */
				return true;
		}
	}
	return false;
}

/*
 * ERROR for a failed client call.  A lost connection or server cursor is a
 * connection failure, which the worker retries from the last checkpoint.
 */
void
mongo_error_report(Source *s, const char *what, const bson_error_t *error)
{
	bool		cursor_lost = (error->domain == MONGOC_ERROR_SERVER ||
							   error->domain == MONGOC_ERROR_QUERY) && error->code == 43;

	ereport(ERROR,
			(errcode(is_connection_error(error) ? ERRCODE_CONNECTION_FAILURE :
					 ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s on MongoDB server \"%s\" failed: %s",
					what, s->server, scrub(s, error->message)),
			 cursor_lost ?
			 errdetail("The server no longer knows the cursor: it was killed, timed out, or its collection was dropped.") : 0,
			 cursor_lost ?
			 errhint("Nothing read from it after the last checkpoint was kept; the copy goes on from there.") : 0));
}

/* The password part of a URL's user info as written, or NULL. */
static char *
url_raw_password(const char *url)
{
	const char *p = strstr(url, "://");
	const char *at;
	const char *colon;

	if (p == NULL)
		return NULL;
	p += 3;
	at = url_userinfo_at(p);
	if (at == NULL)
		return NULL;
	colon = memchr(p, ':', at - p);
	if (colon == NULL)
		return NULL;
	return pnstrdup(colon + 1, at - colon - 1);
}

/* "host:port,host:port" of a URI, or its SRV name. */
static char *
uri_servers(const mongoc_uri_t *uri)
{
	const mongoc_host_list_t *h;
	StringInfoData buf;

	initStringInfo(&buf);
	for (h = mongoc_uri_get_hosts(uri); h != NULL; h = h->next)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, h->host_and_port);
	}
	if (buf.len == 0 && mongoc_uri_get_srv_hostname(uri))
		appendStringInfoString(&buf, mongoc_uri_get_srv_hostname(uri));
	return buf.data;
}

/*
 * Connect to the server of the config's URL.  The URL's own options are
 * kept; serverSelectionTimeoutMS and connectTimeoutMS default to 5 s, so an
 * unreachable server fails fast.  A buildInfo command checks the
 * connection and tells whether the server is FerretDB.
 */
Source *
mongo_source_connect(const TaskConfig *config, const SourceReport *report)
{
	Source	   *s;
	bson_error_t error;
	bson_t		cmd;
	bson_t		reply;
	bson_iter_t it;
	bool		ok;

	if (!mongoc_initialized)
	{
		mongoc_log_set_handler(mongo_log_handler, NULL);
		mongoc_init();
		mongoc_initialized = true;
	}

	s = palloc0(sizeof(Source));
	s->cxt = CurrentMemoryContext;
	s->raw_password = url_raw_password(config->url);
	s->server = "?";
	s->batch_size = config->extract_batch_size > 0 ? config->extract_batch_size : 0;
	bson_init(&s->last_id);
	s->row_cxt = AllocSetContextCreate(s->cxt, "ape_resume mongo row",
									   ALLOCSET_DEFAULT_SIZES);
	s->callback.func = mongo_source_release;
	s->callback.arg = s;
	MemoryContextRegisterResetCallback(s->cxt, &s->callback);

	uri_parsing = true;
	uri_warning = NULL;
	s->uri = mongoc_uri_new_with_error(config->url, &error);
	uri_parsing = false;
	if (s->uri == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MongoDB source url \"%s\": %s", url_mask_password(config->url),
						scrub(s, error.message))));
	/* an option the driver drops could change how the connection is secured */
	if (uri_warning != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid MongoDB source url \"%s\": %s", url_mask_password(config->url),
						scrub(s, uri_warning))));
	if (config->ssl_mode != SSL_MODE_UNSET)
	{
		bool		tls = config->ssl_mode != SSL_MODE_DISABLE;

		bool		verify = config->ssl_mode == SSL_MODE_VERIFY_CA ||
			config->ssl_mode == SSL_MODE_VERIFY_FULL;
		bool		insecure_set = mongoc_uri_has_option(s->uri, MONGOC_URI_TLSINSECURE);
		bool		ok;

		/*
		 * The mode decides every check, whatever the URL says: a URL's
		 * tlsInsecure or tlsAllowInvalid* must not weaken verify_*.  The
		 * driver takes tlsInsecure alone or the tlsAllowInvalid* keys,
		 * never both: the one the URL has is set.
		 */
		if (insecure_set && config->ssl_mode == SSL_MODE_VERIFY_CA)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid MongoDB source url \"%s\": its tlsInsecure contradicts ssl_mode verify_ca of section [extractor]",
							url_mask_password(config->url))));
		ok = mongoc_uri_set_option_as_bool(s->uri, MONGOC_URI_TLS, tls);
		if (tls && insecure_set)
			ok &= mongoc_uri_set_option_as_bool(s->uri, MONGOC_URI_TLSINSECURE, !verify);
		else if (tls)
			ok &= mongoc_uri_set_option_as_bool(s->uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, !verify) &&
				mongoc_uri_set_option_as_bool(s->uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES,
											  config->ssl_mode != SSL_MODE_VERIFY_FULL);
		if (!ok)
			elog(ERROR, "could not set the TLS options of a MongoDB URI");
	}
	if (config->ssl_ca_path != NULL && config->ssl_mode != SSL_MODE_DISABLE &&
		!mongoc_uri_set_option_as_utf8(s->uri, MONGOC_URI_TLSCAFILE, config->ssl_ca_path))
		elog(ERROR, "could not set the TLS options of a MongoDB URI");
	if (mongoc_uri_get_password(s->uri))
		s->password = pstrdup(mongoc_uri_get_password(s->uri));
	s->server = uri_servers(s->uri);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
									   MONGO_SERVER_SELECTION_TIMEOUT_MS);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(s->uri, MONGOC_URI_CONNECTTIMEOUTMS,
									   MONGO_CONNECT_TIMEOUT_MS);
	if (!mongoc_uri_has_option(s->uri, MONGOC_URI_APPNAME))
		(void) mongoc_uri_set_appname(s->uri, "ape_resume");

	s->client = mongoc_client_new_from_uri_with_error(s->uri, &error);
	if (s->client == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MongoDB server \"%s\": %s",
						s->server, scrub(s, error.message))));
	if (!mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2))
		elog(ERROR, "could not set the libmongoc error API");

	bson_init(&cmd);
	BSON_APPEND_INT32(&cmd, "buildInfo", 1);
	ok = mongoc_client_command_simple(s->client, "admin", &cmd, NULL, &reply, &error);
	bson_destroy(&cmd);
	if (ok)
		s->is_ferretdb = bson_iter_init_find(&it, &reply, "ferretdbVersion");
	bson_destroy(&reply);
	if (!ok)
		ereport(ERROR,
				(errcode(error.domain == MONGOC_ERROR_CLIENT &&
						 error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE ?
						 ERRCODE_INVALID_PASSWORD :
						 ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to MongoDB server \"%s\": %s",
						s->server, scrub(s, error.message))));
	return s;
}
