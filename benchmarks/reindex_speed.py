"""How long `rebuild_search_index` takes at 100,000 incidents (1,000,000 on request).

    .venv/bin/python benchmarks/reindex_speed.py [--incidents 100000] [--database NAME]

Fills a fresh PostgreSQL database (on the server of DATABASE_URL) with N incidents shaped like
import_speed.py's (a 300-word report, a 30-word summary, 2 causes, 5 timeline entries, a
remediation, 1–2 failure categories), written by SQL in one pass (filling is not what is
measured), then times `rebuild_search_index` twice: into an empty index (every document
written) and again (every document unchanged: built and compared only). Prints both, with the
command's own progress lines.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time

from _database import fresh_database
from import_speed import WORDS

FILL = """
CREATE FUNCTION pg_temp.words(seed bigint, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg((%(words)s)[1 + abs(hashint8(seed * 1000 + i)) %% %(count)s], ' ')
    FROM generate_series(1, n) AS i
$$;
INSERT INTO incidents_failurecategory (version, name, slug, path, description, updated_at)
SELECT 1, 'Mode ' || c, 'mode-' || c, 'Area ' || (c %% 6) || ' > Mode ' || c, '', now()
FROM generate_series(1, 60) AS c;
INSERT INTO incidents_incident (version, title, summary, body, severity, status, started_at,
                                source_url, visibility, created_at, updated_at, external_id)
SELECT 1, initcap(pg_temp.words(g, 7)), pg_temp.words(g + 1, 30), pg_temp.words(g + 2, 300),
       'SEV2', 'resolved', now() - g * interval '37 minutes', '', 'everyone', now(), now(),
       'bench-' || g
FROM generate_series(1, %(incidents)s) AS g;
INSERT INTO incidents_cause (incident_id, kind, description, category_id)
SELECT i.id, k.kind, pg_temp.words(i.id * 7 + k.n, 12), NULL
FROM incidents_incident i, (VALUES (1, 'trigger'), (2, 'root_cause')) AS k(n, kind);
INSERT INTO incidents_timelineentry (incident_id, at, text)
SELECT i.id, i.started_at + t * interval '5 minutes', pg_temp.words(i.id * 11 + t, 8)
FROM incidents_incident i, generate_series(1, 5) AS t;
INSERT INTO incidents_incident_categories (incident_id, failurecategory_id)
SELECT i.id, f.id FROM incidents_incident i
JOIN incidents_failurecategory f ON f.id %% 60 IN (i.id %% 60, (i.id * 7) %% 60)
ON CONFLICT DO NOTHING;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--database", default="once_bench_reindex")
    args = parser.parse_args()
    with fresh_database(args.database) as server:
        run(args.incidents, server)


def run(incidents: int, server: str) -> None:
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    words = "ARRAY[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    with connection.cursor() as cursor:
        cursor.execute(FILL % {"words": words, "count": len(WORDS), "incidents": incidents})
        cursor.execute(
            """INSERT INTO remediations_remediation (version, title, description, kind, status,
                   opened_at, tracker_url, incident_id, created_at, updated_at,
                   effectiveness_evidence)
               SELECT 1, pg_temp.words(id * 13, 5), pg_temp.words(id * 17, 40), 'prevent',
                      'open', now(), '', id, now(), now(), ''
               FROM incidents_incident"""
        )
        cursor.execute("ANALYZE")
    filled = time.perf_counter() - started

    def timed() -> tuple[float, str]:
        out = io.StringIO()
        begun = time.perf_counter()
        call_command("rebuild_search_index", stdout=out)
        return time.perf_counter() - begun, out.getvalue()

    first, first_log = timed()
    again, _ = timed()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}, PostgreSQL at {server}, load average {os.getloadavg()[0]:.1f}")
    print(f"filled {incidents:,} incidents in {filled:.0f} s (SQL; not measured)")
    print(first_log.rstrip())
    print(f"empty index:  {first:8.1f} s  {incidents / first:8,.0f} incidents/s")
    print(f"same again:   {again:8.1f} s  {incidents / again:8,.0f} incidents/s (unchanged)")


if __name__ == "__main__":
    main()
