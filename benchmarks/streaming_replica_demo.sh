#!/bin/sh
# A real streaming replica for search, set up, used and removed (Debian's PostgreSQL 15, as root).
#
#     sh benchmarks/streaming_replica_demo.sh
#
# Makes a hot standby of the local cluster on port 5439 (pg_createcluster + pg_basebackup -R,
# with a replication slot so that a busy primary keeps the WAL the standby still needs),
# imports a few incidents into a fresh database on the primary, searches with
# DATABASE_REPLICA_URL pointing at the standby, and shows where each query ran and that a
# just-saved incident reaches search once the standby has replayed it. Removes the standby,
# the replication line of pg_hba.conf and the database at the end, whatever happened.
# docs/operations.md, "A read replica for search".
set -eu

PORT=5439
CLUSTER=once_replica_demo
DB=once_imp_replica_demo
HBA=/etc/postgresql/15/main/pg_hba.conf
LINE="host replication postgres 127.0.0.1/32 trust  # $CLUSTER"
PRIMARY="postgres://postgres@127.0.0.1:5432/$DB"
REPLICA="postgres://postgres@127.0.0.1:$PORT/$DB"
cd "$(dirname "$0")/.."

cleanup() {
    pg_dropcluster 15 "$CLUSTER" --stop 2>/dev/null || true
    # A slot left behind would make the primary keep its WAL forever.
    psql -h 127.0.0.1 -U postgres -qAtc "SELECT pg_drop_replication_slot(slot_name)
        FROM pg_replication_slots WHERE slot_name = '$CLUSTER'" >/dev/null
    grep -vF "# $CLUSTER" "$HBA" >"$HBA.tmp" && cat "$HBA.tmp" >"$HBA" && rm -f "$HBA.tmp"
    pg_ctlcluster 15 main reload
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
}
trap cleanup EXIT

echo "$LINE" >>"$HBA"
pg_ctlcluster 15 main reload
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
DATABASE_URL=$PRIMARY DJANGO_SECRET_KEY=demo .venv/bin/python manage.py migrate -v0

pg_createcluster 15 "$CLUSTER" -p $PORT >/dev/null
printf "local all all trust\nhost all all 127.0.0.1/32 trust\n" >"/etc/postgresql/15/$CLUSTER/pg_hba.conf"  # as the primary
DATA=/var/lib/postgresql/15/$CLUSTER
find "$DATA" -mindepth 1 -delete  # pg_basebackup fills the empty directory
su postgres -c "pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D $DATA -R -X stream -c fast -C -S $CLUSTER"
pg_ctlcluster 15 "$CLUSTER" start
echo "standby: $(psql -h 127.0.0.1 -p $PORT -U postgres -Atc 'SELECT pg_is_in_recovery()') (in recovery)"

DATABASE_URL=$PRIMARY DATABASE_REPLICA_URL=$REPLICA DJANGO_SECRET_KEY=demo \
    .venv/bin/python - <<'EOF'
import os, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db import connections
from django.test.utils import CaptureQueriesContext
from reports.interchange import apply_record, parse_record
from search.service import search

def saved(title: str, n: int) -> None:
    apply_record(parse_record({"external_id": f"demo-{n}", "title": title,
                               "started_at": "2024-03-01T10:00:00Z"}))

def found(q: str) -> list[str]:
    return [r.incident.title for r in search(q, viewer=None).results]

def replayed(q: str, deadline: float = 10.0) -> float:
    started = time.monotonic()
    while not found(q):
        if time.monotonic() - started > deadline:
            raise SystemExit(f"not replayed within {deadline} s")
        time.sleep(0.005)
    return time.monotonic() - started

saved("Etcd lost quorum after a disk stall", 1)
print(f"first incident searchable on the replica after {replayed('quorum') * 1000:.0f} ms")
with CaptureQueriesContext(connections["replica"]) as on_replica, \
     CaptureQueriesContext(connections["default"]) as on_primary:
    print("search 'quorum':", found("quorum"))
search_sql = lambda qs: [q for q in qs if "search_document" in q["sql"] or "search_word" in q["sql"]]
print(f"queries on the replica: {len(on_replica.captured_queries)} "
      f"({len(search_sql(on_replica.captured_queries))} on search tables); "
      f"on the primary: {len(on_primary.captured_queries)} "
      f"({len(search_sql(on_primary.captured_queries))} on search tables)")
with connections["replica"].cursor() as cursor:
    cursor.execute("SELECT pg_is_in_recovery()")
    print("the replica alias is a standby:", cursor.fetchone()[0])
with CaptureQueriesContext(connections["replica"]) as during_save:
    saved("Certificate expiry took the ingress down", 2)
print("queries on the replica during a save:", len(during_save.captured_queries))
print(f"the new incident reached search after {replayed('certificate') * 1000:.0f} ms of lag")
EOF
