#!/usr/bin/env bash
# A demo on a fresh machine: install what is needed, build and install the
# extension, start the test bed, put a small shop database into MariaDB and
# copy it into the local PostgreSQL server with ape_resume.
#
#   bash test/demo.sh        (as root)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash test/install_deps.sh
make -s
make -s install >/dev/null
bash test/testbed.sh start
# shellcheck disable=SC1091
source "$(bash test/testbed.sh path)/env.sh"

echo "== a source database in MariaDB: shop.customers and shop.orders"
mariadb -h127.0.0.1 -P"$APE_MYSQL_PORT" -uape -pmysql_secret_pw <<'SQL'
DROP DATABASE IF EXISTS shop;
CREATE DATABASE shop;
USE shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id int NOT NULL,
                          amount decimal(12,2), placed datetime(6), note text);
INSERT INTO shop.customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', NULL), (3, 'Zoë', 'zoe@example.com');
INSERT INTO shop.orders
  SELECT seq, 1 + seq % 3, seq * 1.25, '2024-01-01 00:00:00' + INTERVAL seq SECOND,
         IF(seq % 7 = 0, NULL, CONCAT('order ', seq))
  FROM seq_1_to_50000;
SQL

log_dir="$APE_SHARED_DIR/demo_logs"
rm -rf "$log_dir"
echo "== copying with ape_resume (log_dir $log_dir)"
psql -X -v ON_ERROR_STOP=1 <<SQL
DROP SCHEMA IF EXISTS shop CASCADE;
CREATE EXTENSION IF NOT EXISTS ape_resume;
SELECT ape_resume.drop_task(name) FROM ape_resume.tasks WHERE name = 'demo';
SELECT ape_resume.start_task('demo', \$\$
[extractor]
db_type=mysql
url=$APE_MYSQL_URL
[filter]
do_dbs=shop
[sinker]
batch_size=10000
[runtime]
log_dir=$log_dir
\$\$) AS task_id;
SELECT ape_resume.wait_task('demo', 300) AS state;
SELECT name, state, tables_total, tables_finished, rows_copied, last_error FROM ape_resume.tasks WHERE name = 'demo';
SELECT schema, tb, state, order_col, value, rows_copied FROM ape_resume.progress('demo');
SELECT count(*) AS orders, sum(amount) AS total FROM shop.orders;
SELECT * FROM shop.customers ORDER BY id;
SQL
echo "== $log_dir/finished.log"
cat "$log_dir/finished.log"
echo "== last lines of $log_dir/position.log"
tail -n 4 "$log_dir/position.log"
echo
echo "The test bed is still running: bash test/testbed.sh stop"
