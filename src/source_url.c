/*-------------------------------------------------------------------------
 *
 * source_url.c
 *	  Source URLs: their scheme, credentials merged in, the password
 *	  masked for display, and the server they name.  See source_url.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "source_url.h"

const char *
url_userinfo_at(const char *auth)
{
	const char *end = auth + strcspn(auth, "/?#");
	const char *at = NULL;

	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	return at;
}

/* Append s percent-encoded: everything but RFC 3986's unreserved characters. */
static void
append_percent_encoded(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			appendStringInfoChar(buf, (char) c);
		else
			appendStringInfo(buf, "%%%02X", c);
	}
}

char *
url_with_credentials(const char *url, const char *user, const char *password)
{
	const char *auth = strstr(url, "://") + 3;
	const char *at = url_userinfo_at(auth);
	const char *colon = NULL;
	StringInfoData buf;

	if (at != NULL)
		colon = memchr(auth, ':', at - auth);

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, url, auth - url);
	if (user != NULL)
		append_percent_encoded(&buf, user);
	else if (at != NULL)
		appendBinaryStringInfo(&buf, auth, (colon ? colon : at) - auth);
	if (password != NULL)
	{
		appendStringInfoChar(&buf, ':');
		append_percent_encoded(&buf, password);
	}
	else if (colon != NULL)
		appendBinaryStringInfo(&buf, colon, at - colon);
	appendStringInfoChar(&buf, '@');
	appendStringInfoString(&buf, at ? at + 1 : auth);
	return buf.data;
}

bool
url_has_scheme(const char *url, SourceKind kind)
{
	switch (kind)
	{
		case SOURCE_MYSQL:
			return strncmp(url, "mysql://", 8) == 0;
		case SOURCE_PG:
			return strncmp(url, "postgres://", 11) == 0 ||
				strncmp(url, "postgresql://", 13) == 0;
		case SOURCE_MONGO:
			return strncmp(url, "mongodb://", 10) == 0 ||
				strncmp(url, "mongodb+srv://", 14) == 0;
	}
	return false;
}

char *
url_server_identity(const char *url, SourceKind kind)
{
	const char *auth = strstr(url, "://");
	const char *at;
	const char *end;

	auth = auth ? auth + 3 : url;
	at = url_userinfo_at(auth);
	if (at != NULL)
		auth = at + 1;
	/* a MySQL table's database is its schema: the path says nothing */
	end = auth + strcspn(auth, kind == SOURCE_MYSQL ? "/?#" : "?#");
	while (end > auth && end[-1] == '/')
		end--;
	return psprintf("%s://%.*s", source_kind_name(kind), (int) (end - auth), auth);
}

/*
 * Query-string keys whose value is a secret: libpq's password and
 * sslpassword, the Mongo driver's key passwords and
 * authMechanismProperties (which can carry AWS_SESSION_TOKEN).
 */
static const char *const secret_keys[] = {
	"password", "sslpassword", "authmechanismproperties",
	"tlscertificatekeyfilepassword", "sslclientcertificatekeypassword",
	NULL
};

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = pg_ascii_tolower((unsigned char) c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Is the key of a key=value pair (n bytes, percent-encoded) a secret's? */
static bool
is_secret_key(const char *key, size_t n)
{
	StringInfoData k;
	size_t		i;
	int			j;
	bool		secret = false;

	initStringInfo(&k);
	/* the drivers decode the key before they look at it */
	for (i = 0; i < n; i++)
	{
		if (key[i] == '%' && i + 2 < n &&
			hex_digit(key[i + 1]) >= 0 && hex_digit(key[i + 2]) >= 0)
		{
			appendStringInfoChar(&k, (char) pg_ascii_tolower((unsigned char)
															 (hex_digit(key[i + 1]) * 16 +
															  hex_digit(key[i + 2]))));
			i += 2;
		}
		else
			appendStringInfoChar(&k, (char) pg_ascii_tolower((unsigned char) key[i]));
	}
	for (j = 0; secret_keys[j] != NULL; j++)
		if (strcmp(k.data, secret_keys[j]) == 0)
			secret = true;
	pfree(k.data);
	return secret;
}

/*
 * Mask the value of every secret parameter (see secret_keys) in the query
 * string of a URL.
 */
static char *
mask_query_password(char *url, size_t from)
{
	char	   *q = strchr(url + from, '?');
	const char *p;
	StringInfoData buf;

	if (q == NULL)
		return url;
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, url, q + 1 - url);
	p = q + 1;
	while (*p)
	{
		size_t		n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);

		if (eq != NULL && is_secret_key(p, eq - p))
		{
			appendBinaryStringInfo(&buf, p, eq + 1 - p);
			appendStringInfoString(&buf, "*****");
		}
		else
			appendBinaryStringInfo(&buf, p, n);
		p += n;
		if (*p == '&')
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

char *
url_mask_password(const char *url)
{
	const char *auth = strstr(url, "://");
	const char *q;
	const char *at = NULL;
	const char *colon;
	const char *p;
	size_t		slash;
	StringInfoData buf;

	if (auth == NULL)
		return mask_query_password(pstrdup(url), 0);
	auth += 3;

	/*
	 * The userinfo ends at the last '@' before the query string (ours, for
	 * a MySQL URL, where a password may hold '/'); with no '@' before the
	 * first '?', that '?' may be a password's, as libpq reads a URL: then
	 * it ends at the last '@' before the first '/'.  No '@' there: no
	 * userinfo, and the query string starts at the first '?'.
	 */
	q = strchr(auth, '?');
	for (p = auth; *p && (q == NULL || p < q); p++)
		if (*p == '@')
			at = p;
	if (at == NULL && q != NULL)
	{
		slash = strcspn(auth, "/");
		for (p = auth; p < auth + slash; p++)
			if (*p == '@')
				at = p;
	}
	if (at == NULL)
		return mask_query_password(pstrdup(url), auth - url);
	colon = memchr(auth, ':', at - auth);
	initStringInfo(&buf);
	if (colon == NULL)
		appendBinaryStringInfo(&buf, url, at - url);
	else
	{
		appendBinaryStringInfo(&buf, url, colon + 1 - url);
		appendStringInfoString(&buf, "*****");
	}
	/* the query string: after the userinfo */
	slash = buf.len;
	appendStringInfoString(&buf, at);
	return mask_query_password(buf.data, slash);
}
