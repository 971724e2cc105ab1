#!/bin/sh
# Create a PostgreSQL database unless it exists, then exit 0.
#
# Usage: ensure-database.sh NAME
# The server and credentials come from the libpq variables PGHOST, PGPORT, PGUSER,
# PGPASSWORD and PGSSLMODE. The check connects to the database named by PGDATABASE
# (default: postgres). The user needs the CREATEDB privilege, which the RDS master
# user has.
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: ensure-database.sh NAME" >&2
    exit 2
fi
name="$1"

# The name goes into SQL, so only plain lower-case identifiers are accepted.
case "$name" in
    "" | [!a-z_]* | *[!a-z0-9_]*)
        echo "ensure-database.sh: invalid database name '$name'. Use lower-case letters, digits and underscores, starting with a letter or underscore." >&2
        exit 2
        ;;
esac

maintenance_db="${PGDATABASE:-postgres}"
exists=$(psql -d "$maintenance_db" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")
if [ "$exists" = "1" ]; then
    echo "ensure-database.sh: database '$name' already exists"
    exit 0
fi

createdb --maintenance-db="$maintenance_db" "$name"
echo "ensure-database.sh: created database '$name'"
