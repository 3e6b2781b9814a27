# PGXS build of the ape_resume extension.
#
#   make && make install      build and install into the PostgreSQL found by pg_config
#   make installcheck         pg_regress tests against a running server (see README.md)

EXTENSION = ape_resume
MODULE_big = ape_resume
DATA = sql/ape_resume--0.1.0.sql sql/ape_resume--0.1.0--0.2.0.sql \
	sql/ape_resume--0.2.0--0.3.0.sql sql/ape_resume--0.3.0--0.4.0.sql \
	sql/ape_resume--0.4.0--0.5.0.sql sql/ape_resume--0.5.0--0.6.0.sql \
	sql/ape_resume--0.6.0--0.7.0.sql
PGFILEDESC = "ape_resume - resumable table copies into PostgreSQL"

OBJS = \
	src/ape_resume.o \
	src/config.o \
	src/config_settings.o \
	src/config_ini.o \
	src/config_value.o \
	src/source_url.o \
	src/name_filter.o \
	src/table_rule.o \
	src/table_rule_json.o \
	src/position_json.o \
	src/position_file.o \
	src/catalog.o \
	src/task_state.o \
	src/task_api.o \
	src/privileges.o \
	src/worker.o \
	src/launcher.o \
	src/task_run.o \
	src/rate_limit.o \
	src/resume.o \
	src/sink.o \
	src/sink_citus.o \
	src/copy_binary.o \
	src/checkpoint.o \
	src/order_key.o \
	src/source.o \
	src/structure.o \
	src/structure_check.o \
	src/structure_types.o \
	src/structure_run.o \
	src/chunk.o \
	src/check.o \
	src/check_lookup.o \
	src/check_log.o \
	src/mysql/mysql_conn.o \
	src/mysql/mysql_discover.o \
	src/mysql/mysql_values.o \
	src/mysql/mysql_scan.o \
	src/mysql/mysql_structure.o \
	src/mysql/mysql_translate.o \
	src/mysql/mysql_chunk.o \
	src/pg/pg_conn.o \
	src/pg/pg_discover.o \
	src/pg/pg_scan.o \
	src/pg/pg_structure.o \
	src/pg/pg_schema.o \
	src/pg/pg_chunk.o \
	src/mongo/mongo_conn.o \
	src/mongo/mongo_discover.o \
	src/mongo/mongo_json.o \
	src/mongo/mongo_position.o \
	src/mongo/mongo_scan.o \
	src/mongo/mongo_structure.o

# peer_files: ape-dts's own resume files, added by test/run_tests.sh when present
REGRESS = setup config resume_files privileges $(EXTRA_REGRESS)
REGRESS_OPTS = --load-extension=ape_resume

PG_CONFIG ?= pg_config

# Client libraries: their headers are only seen by their wrapper files.
JSONC_CFLAGS := $(shell pkg-config --cflags json-c)
JSONC_LIBS := $(shell pkg-config --libs json-c)
MYSQL_CFLAGS := $(shell mysql_config --include)
MYSQL_LIBS := $(shell mysql_config --libs)
MONGOC_CFLAGS := $(shell pkg-config --cflags libmongoc-1.0)
MONGOC_LIBS := $(shell pkg-config --libs libmongoc-1.0)

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
PG_CPPFLAGS = -Isrc
SHLIB_LINK = $(libpq) $(JSONC_LIBS) $(MYSQL_LIBS) $(MONGOC_LIBS)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Per-file include paths for the client-library wrappers.
src/position_json.o src/position_json.bc src/table_rule_json.o src/table_rule_json.bc: override CPPFLAGS += $(JSONC_CFLAGS)
src/mysql/%.o src/mysql/%.bc: override CPPFLAGS += $(MYSQL_CFLAGS)
src/pg/%.o src/pg/%.bc: override CPPFLAGS += -I$(libpq_srcdir)
src/mongo/%.o src/mongo/%.bc: override CPPFLAGS += $(MONGOC_CFLAGS)

# PGXS tracks no header dependencies: every object depends on every header
# of src/ and of the source folders, so that a changed struct (source.h,
# ...) rebuilds all its users.
$(OBJS): $(wildcard src/*.h src/mysql/*.h src/pg/*.h src/mongo/*.h)
