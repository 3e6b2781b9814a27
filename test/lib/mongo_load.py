#!/usr/bin/python3
"""mongo_load.py: run mongosh-style scripts against a MongoDB-compatible server.

Usage: $APE_PYTHON test/lib/mongo_load.py URL FILE...

One statement per line; blank lines and // comments are ignored:
    use DB
    db.dropDatabase();
    db.createCollection("coll");
    db.coll.insertOne({ ...extended JSON... });
    db.coll.insertMany([ {...}, ... ]);
Documents are extended JSON (canonical or relaxed: $numberInt, $numberLong,
$date, $binary, $numberDecimal, $minKey, $maxKey, ...) plus the shell helper
ObjectId("hex"), so every value, _id included, keeps its BSON type.

A document the server refuses to store (other than a duplicate key) is
reported as a line "SKIPPED-TYPE db.coll: <server error>" and the load goes
on. FerretDB rejects some BSON types, either with an error or by closing the
connection: a closed connection counts as a refusal when the server still
answers a ping right after. Any other error exits non-zero.
"""
import re
import sys

import pymongo
from bson import json_util
from bson.errors import BSONError
from pymongo.errors import AutoReconnect, OperationFailure, PyMongoError

USE = re.compile(r"use\s+(\S+?);?$")
DROP_DB = re.compile(r"db\.dropDatabase\(\s*\);?$")
CREATE = re.compile(r"""db\.createCollection\(\s*(["'])(.+)\1\s*\);?$""")
INSERT = re.compile(r"db\.([^.\s]+)\.(insertOne|insertMany)\((.*)\);?$", re.S)
OBJECT_ID = re.compile(r"""ObjectId\(\s*["']([0-9a-fA-F]{24})["']\s*\)""")
DUPLICATE_KEY = 11000


class ScriptError(Exception):
    pass


def parse_docs(text):
    """Extended JSON (with ObjectId("...") helpers) -> python value."""
    return json_util.loads(OBJECT_ID.sub(r'{"$oid": "\1"}', text))


def insert(db, coll, method, arg):
    docs = parse_docs(arg)
    docs = docs if method == "insertMany" else [docs]
    for doc in docs:
        try:
            db[coll].insert_one(doc)
        except OperationFailure as e:
            if e.code == DUPLICATE_KEY:
                raise
            skipped(db, coll, doc, e)
        except AutoReconnect as e:
            db.client.admin.command("ping")  # raises if the server is gone
            skipped(db, coll, doc, f"server closed the connection ({e})")


def skipped(db, coll, doc, error):
    _id = json_util.dumps(doc.get("_id"), json_options=json_util.CANONICAL_JSON_OPTIONS)
    print(f"SKIPPED-TYPE {db.name}.{coll}: {error} [_id {_id}]", flush=True)


def run_file(client, path):
    db = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            stmt = line.strip()
            if not stmt or stmt.startswith("//"):
                continue
            try:
                if m := USE.match(stmt):
                    db = client[m.group(1)]
                    continue
                if db is None:
                    raise ScriptError("no 'use DB' before this statement")
                if DROP_DB.match(stmt):
                    client.drop_database(db.name)
                elif m := CREATE.match(stmt):
                    db.create_collection(m.group(2))
                elif m := INSERT.match(stmt):
                    insert(db, m.group(1), m.group(2), m.group(3))
                else:
                    raise ScriptError("unsupported statement")
            except (ScriptError, ValueError, BSONError, PyMongoError) as e:
                raise ScriptError(f"{path}:{lineno}: {e}\n    {stmt}") from e


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=10000)
    try:
        client.admin.command("ping")
        for path in sys.argv[2:]:
            run_file(client, path)
    except (ScriptError, PyMongoError, OSError) as e:
        sys.exit(f"mongo_load.py: {e}")


if __name__ == "__main__":
    main()
