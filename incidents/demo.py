"""Demo data for `make run`: a small company's year of incidents, written by us.

Dates are relative to the Monday of the current week (UTC), so the demo always has incidents
this week, remediations falling due and fixes done months ago — and loading it again in the
same week changes nothing.
"""

from __future__ import annotations

import datetime
import zlib
from typing import Any

from django.utils import timezone

DEMO_OWNERS = ["alice", "bob", "carol", "dave"]

CATEGORY_DESCRIPTIONS = {
    "Control plane": "The cluster's brain: etcd, the API server, controllers and the scheduler.",
    "Control plane > etcd": "etcd, the key-value store behind the Kubernetes API. Sensitive to disk latency.",
    "Control plane > etcd > Leader elections": "Repeated etcd leader elections, usually from slow fsync or network blips.",
    "Control plane > Kubernetes API server": "The API server refuses, throttles or times out requests.",
    "Storage": "Block and object storage under our services.",
    "Storage > EBS latency": "EBS volumes whose latency climbs from milliseconds to seconds.",
    "Networking": "Everything between two processes.",
    "Networking > Envoy": "Our service mesh proxy.",
    "Networking > Envoy > HTTP/1.1 connection pool exhaustion": (
        "Envoy runs out of upstream HTTP/1.1 connections and queues or rejects requests. "
        "The category fix: move service-to-service traffic to HTTP/2."
    ),
    "Networking > DNS": "Name resolution failing or slow inside the cluster.",
    "Containers don't start": "Pods stuck in Pending, ContainerCreating or CrashLoopBackOff.",
    "Containers don't start > IAM permissions": "Pods can't get cloud credentials: throttled or denied IAM calls.",
    "Containers don't start > Scheduler bug": "The scheduler places pods wrongly or not at all.",
    "Containers don't start > etcd unavailable": "New pods can't be created because etcd is down or read-only.",
    "Containers don't start > Image pull failures": "Images can't be pulled: registry down, rate limits, missing tags.",
    "Configuration": "Changes to configuration rather than code.",
    "Configuration > Invalid configuration push": "A configuration that fails validation, or should have, reaches production.",
    "Capacity": "Running out of something: memory, CPU, disk, IPs.",
    "Capacity > Mass pod eviction": "Many pods evicted at once: node pressure, drains, or a bad controller.",
    "Capacity > Memory exhaustion": "Processes OOM-killed or nodes under memory pressure.",
    "Certificates": "TLS certificates and their expiry and rotation.",
}

# (key, days before this Monday, hours to resolve, severity, status, title, summary,
#  categories, services, causes, report sections, timeline, remediations)
# Report sections: impact, detection, resolution, well, wrong, lucky, lessons.
_INCIDENTS: list[dict[str, Any]] = [
    {
        "key": "etcd-ebs-1",
        "ago": 340,
        "hours": 3,
        "sev": "SEV2",
        "title": "etcd leader elections every few minutes while EBS latency spiked",
        "summary": "etcd members on EBS-backed volumes missed heartbeats as fsync latency rose past a second; the cluster elected a new leader 41 times in two hours and API writes stalled.",
        "categories": ["Control plane > etcd > Leader elections", "Storage > EBS latency"],
        "services": ["etcd", "EBS", "Kubernetes API server"],
        "causes": [
            (
                "trigger",
                "EBS volume of etcd member 2 degraded in us-east-1b.",
                "Storage > EBS latency",
            ),
            (
                "root_cause",
                "etcd data directory on a general-purpose EBS volume with no IOPS headroom.",
                "Control plane > etcd",
            ),
            (
                "contributing",
                "Heartbeat interval and election timeout at their defaults, tuned for local SSDs.",
                None,
            ),
        ],
        "impact": "Deployments failed or hung for two hours. Running workloads were unaffected.",
        "detection": "An engineer noticed `kubectl apply` timing out; no alert fired.",
        "resolution": "Moved member 2 to a new provisioned-IOPS volume and re-joined it.",
        "well": "The runbook for replacing an etcd member worked as written.",
        "wrong": "We had no alert on etcd leader changes or fsync latency.",
        "lucky": "No node failed during the window, so nothing needed rescheduling.",
        "lessons": "etcd needs predictable disk latency; treat its volumes as special.",
        "timeline": [
            (0, "EBS latency on member 2 rises to 800 ms p99"),
            (25, "First failed deploy reported in #ops"),
            (70, "etcd leader churn identified from logs"),
            (150, "Member 2 moved to io2 volume"),
            (180, "Leader stable for 30 minutes; resolved"),
        ],
        "remediations": [
            (
                "Alert on etcd leader changes and WAL fsync p99",
                "detect",
                "done",
                "alice",
                -300,
                "Control plane > etcd",
                320,
            ),
            (
                "Put etcd data on provisioned-IOPS volumes",
                "prevent",
                "done",
                "bob",
                -290,
                "Control plane > etcd > Leader elections",
                300,
            ),
        ],
    },
    {
        "key": "etcd-ebs-2",
        "ago": 45,
        "hours": 2,
        "sev": "SEV2",
        "title": "etcd leader elections again after a noisy neighbour saturated the volume",
        "summary": "Despite provisioned IOPS, a compaction job on the same volume pushed fsync latency over the election timeout; the etcd leader changed 17 times.",
        "categories": ["Control plane > etcd > Leader elections"],
        "services": ["etcd", "EBS"],
        "causes": [
            (
                "trigger",
                "Scheduled defragmentation ran on all members at the same time.",
                "Control plane > etcd",
            ),
            (
                "root_cause",
                "Defragmentation and the WAL share one volume, so defrag I/O delays fsync.",
                "Storage > EBS latency",
            ),
        ],
        "impact": "Writes to the API server failed for 40 minutes; two deploys were retried.",
        "detection": "The leader-change alert from the previous incident fired within three minutes.",
        "resolution": "Stopped the defrag job; latency recovered immediately.",
        "well": "Detection was fast thanks to the alert added after the last etcd incident.",
        "wrong": "The fix from last time assumed volume type was the only source of latency.",
        "lucky": "It happened during office hours.",
        "lessons": "The failure mode is *slow fsync*, not *slow volume type*. Fix the category.",
        "timeline": [
            (0, "Defragmentation starts on all three members"),
            (3, "Leader-change alert fires"),
            (20, "Defrag job identified and stopped"),
            (120, "Monitoring window ends; resolved"),
        ],
        "remediations": [
            (
                "Stagger etcd defragmentation, one member at a time",
                "prevent",
                "in_progress",
                "alice",
                10,
                "Control plane > etcd",
                None,
            ),
            (
                "Separate volume for the etcd WAL",
                "prevent",
                "open",
                "bob",
                -5,
                "Control plane > etcd > Leader elections",
                None,
            ),
        ],
    },
    {
        "key": "envoy-h1-1",
        "ago": 300,
        "hours": 1.5,
        "sev": "SEV1",
        "title": "Checkout errors from Envoy HTTP/1.1 connection pool exhaustion",
        "summary": "A traffic spike exhausted Envoy's HTTP/1.1 upstream connection pool to the payments service; requests queued, hit the circuit breaker and returned 503s for 12% of checkouts.",
        "categories": ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"],
        "services": ["Envoy", "payments-api"],
        "causes": [
            ("trigger", "Marketing campaign tripled checkout traffic in ten minutes.", None),
            (
                "root_cause",
                "HTTP/1.1 needs one connection per in-flight request; the pool's max_connections was 1024.",
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
            ),
        ],
        "impact": "12% of checkouts failed for 45 minutes.",
        "detection": "Error-rate alert on checkout.",
        "resolution": "Raised max_connections and max_pending_requests on the cluster.",
        "well": "Envoy's overflow stats pointed straight at the pool.",
        "wrong": "Circuit-breaker limits were copied from an example config years ago.",
        "lucky": "The payments service itself had headroom.",
        "lessons": "Connection pools are capacity too. HTTP/2 multiplexing removes this class of problem.",
        "timeline": [
            (0, "Campaign email sent"),
            (8, "upstream_cx_overflow climbs"),
            (12, "Checkout error alert"),
            (40, "Circuit-breaker limits raised"),
            (90, "Error rate normal; resolved"),
        ],
        "remediations": [
            (
                "Move service-to-service traffic to HTTP/2",
                "prevent",
                "done",
                "carol",
                -200,
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
                120,
            ),
            (
                "Dashboard for Envoy circuit-breaker overflow per cluster",
                "detect",
                "done",
                "carol",
                -250,
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
                260,
            ),
        ],
    },
    {
        "key": "envoy-h1-2",
        "ago": 230,
        "hours": 1,
        "sev": "SEV2",
        "title": "Search API 503s: Envoy upstream pool overflow to the index service",
        "summary": "Same shape as the checkout incident: HTTP/1.1 connections to the index service ran out during a batch reindex.",
        "categories": ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"],
        "services": ["Envoy", "search-api"],
        "causes": [
            ("trigger", "Batch reindex sent thousands of concurrent requests.", None),
            (
                "root_cause",
                "HTTP/1.1 upstream connections capped per host.",
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
            ),
        ],
        "impact": "Search returned errors for 8% of queries for 30 minutes.",
        "detection": "Overflow dashboard, checked by the on-call after user reports.",
        "resolution": "Paused the reindex.",
        "well": "The new dashboard made diagnosis take minutes.",
        "wrong": "The HTTP/2 migration had not reached the search path yet.",
        "lucky": "Reindex could be paused safely.",
        "lessons": "This is a category: fix it everywhere, not per service.",
        "timeline": [
            (0, "Reindex starts"),
            (10, "User reports of failed searches"),
            (25, "Reindex paused"),
            (60, "Resolved"),
        ],
        "remediations": [
            (
                "Rate-limit the batch reindexer",
                "mitigate",
                "done",
                "dave",
                -200,
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
                215,
            )
        ],
    },
    {
        "key": "envoy-h1-3",
        "ago": 9,
        "hours": 0.75,
        "sev": "SEV2",
        "title": "Envoy connection pool exhausted to the legacy billing service",
        "summary": "The legacy billing service only speaks HTTP/1.1 and was left out of the HTTP/2 migration; at month-end its pool overflowed and invoices failed to render.",
        "categories": ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"],
        "services": ["Envoy", "billing"],
        "causes": [
            ("trigger", "Month-end invoice run.", None),
            (
                "root_cause",
                "Billing upstream still on HTTP/1.1 after the HTTP/2 migration was marked done.",
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
            ),
        ],
        "impact": "Invoice rendering failed for 40 minutes; retried automatically later.",
        "detection": "Overflow alert.",
        "resolution": "Temporarily doubled the pool size for billing.",
        "well": "Alerts and dashboards from the earlier incidents worked.",
        "wrong": "The migration's *done* did not mean *every upstream*.",
        "lucky": "Invoices are retried, so no customer saw a failure.",
        "lessons": "A remediation is done when the failure mode can't recur, not when most of the work is.",
        "timeline": [
            (0, "Invoice run starts"),
            (4, "Overflow alert for billing cluster"),
            (30, "Pool size raised"),
            (45, "Resolved"),
        ],
        "remediations": [
            (
                "Put an HTTP/2-speaking sidecar in front of billing",
                "prevent",
                "open",
                "carol",
                14,
                "Networking > Envoy > HTTP/1.1 connection pool exhaustion",
                None,
            )
        ],
    },
    {
        "key": "iam-1",
        "ago": 260,
        "hours": 4,
        "sev": "SEV2",
        "title": "Pods don't start: IAM credential requests throttled during node scale-up",
        "summary": "Scaling from 40 to 200 nodes made every new pod fetch credentials at once; the IAM API throttled us and pods crash-looped on startup.",
        "categories": ["Containers don't start > IAM permissions"],
        "services": ["IAM", "kube2iam", "Kubernetes"],
        "causes": [
            ("trigger", "Autoscaler added 160 nodes in 10 minutes for a batch job.", None),
            (
                "root_cause",
                "Every pod requests fresh credentials at start with no cache or jitter.",
                "Containers don't start > IAM permissions",
            ),
            ("contributing", "Our IAM request quota had never been raised from the default.", None),
        ],
        "impact": "The batch job ran four hours late; 30% of new service pods crash-looped.",
        "detection": "CrashLoopBackOff alert on a critical deployment.",
        "resolution": "Slowed the autoscaler and let the credential requests drain.",
        "well": "Nodes and pods recovered without manual restarts once throttling stopped.",
        "wrong": "Logs said `AccessDenied`, which sent us chasing policies for an hour.",
        "lucky": "The scale-up was for a batch job, not customer traffic.",
        "lessons": "Throttling can look like a permissions problem.",
        "timeline": [
            (0, "Scale-up starts"),
            (12, "CrashLoopBackOff alerts"),
            (75, "Throttling found in CloudTrail"),
            (200, "Autoscaler slowed"),
            (240, "All pods running; resolved"),
        ],
        "remediations": [
            (
                "Cache credentials on each node and add jittered retries",
                "prevent",
                "in_progress",
                "bob",
                -30,
                "Containers don't start > IAM permissions",
                None,
            ),
            (
                "Request a higher IAM API quota",
                "mitigate",
                "done",
                "dave",
                -240,
                "Containers don't start > IAM permissions",
                250,
            ),
        ],
    },
    {
        "key": "iam-2",
        "ago": 20,
        "hours": 1.5,
        "sev": "SEV3",
        "title": "New pods stuck on IAM throttling during a cluster upgrade",
        "summary": "A rolling upgrade recreated every pod within an hour and hit the same IAM throttling as last spring.",
        "categories": ["Containers don't start > IAM permissions"],
        "services": ["IAM", "kube2iam"],
        "causes": [
            ("trigger", "Rolling cluster upgrade.", None),
            (
                "root_cause",
                "Credential caching on nodes is still not rolled out.",
                "Containers don't start > IAM permissions",
            ),
        ],
        "impact": "The upgrade took three hours longer; no user impact.",
        "detection": "Upgrade runbook step failed its health check.",
        "resolution": "Slowed the upgrade to 5% of nodes at a time.",
        "well": "The upgrade's health checks stopped it before it spread.",
        "wrong": "The prevent remediation from the first incident is overdue.",
        "lucky": "Nothing else was deploying.",
        "lessons": "Open remediations are risk we carry; this one needs an owner with time.",
        "timeline": [
            (0, "Upgrade starts"),
            (30, "Health check fails"),
            (60, "Throttling confirmed"),
            (90, "Upgrade resumed slowly; resolved"),
        ],
        "remediations": [],
    },
    {
        "key": "sched-1",
        "ago": 190,
        "hours": 5,
        "sev": "SEV3",
        "title": "Scheduler left pods Pending after a version bump changed topology spread defaults",
        "summary": "After upgrading the scheduler, pods with topology spread constraints stayed Pending because the new default for whenUnsatisfiable treated a full zone as unschedulable.",
        "categories": ["Containers don't start > Scheduler bug"],
        "services": ["kube-scheduler"],
        "causes": [
            ("trigger", "Scheduler upgrade.", None),
            (
                "root_cause",
                "Behaviour change in topology spread defaults; our manifests relied on the old one.",
                "Containers don't start > Scheduler bug",
            ),
        ],
        "impact": "Three internal services could not scale up for five hours.",
        "detection": "Pending pods alert after 30 minutes.",
        "resolution": "Set whenUnsatisfiable explicitly in the affected manifests.",
        "well": "Rollback of the scheduler was ready, though not needed.",
        "wrong": "The release notes mentioned it; nobody read that section.",
        "lucky": "Capacity in other zones absorbed the load.",
        "lessons": "Pin behaviour we depend on explicitly in manifests.",
        "timeline": [
            (0, "Scheduler upgraded"),
            (30, "Pending pods alert"),
            (180, "Cause found in release notes"),
            (300, "Manifests fixed; resolved"),
        ],
        "remediations": [
            (
                "Lint manifests for implicit scheduling defaults",
                "prevent",
                "done",
                "alice",
                -150,
                "Containers don't start > Scheduler bug",
                160,
            ),
            (
                "Read-the-release-notes step in the upgrade checklist",
                "process",
                "done",
                "dave",
                -170,
                "Containers don't start > Scheduler bug",
                175,
            ),
        ],
    },
    {
        "key": "etcd-down-1",
        "ago": 150,
        "hours": 2.5,
        "sev": "SEV1",
        "title": "No pod could start: etcd out of space and read-only",
        "summary": "etcd hit its space quota after an operator stored large objects in a ConfigMap loop; the cluster went read-only and no pod could be created or rescheduled.",
        "categories": ["Containers don't start > etcd unavailable", "Control plane > etcd"],
        "services": ["etcd", "Kubernetes API server"],
        "causes": [
            (
                "trigger",
                "A misbehaving operator rewrote a 900 KB ConfigMap every few seconds.",
                "Control plane > Kubernetes API server",
            ),
            (
                "root_cause",
                "etcd's space quota was reached; history was not compacted fast enough.",
                "Control plane > etcd",
            ),
        ],
        "impact": "Two hours with no deploys and no rescheduling; one node failure left its pods down.",
        "detection": "API server error rate alert.",
        "resolution": "Disabled the operator, compacted and defragmented etcd, disarmed the alarm.",
        "well": "The team knew the NOSPACE alarm procedure.",
        "wrong": "No alert on etcd database size.",
        "lucky": "Only one node failed in that window.",
        "lessons": "A cluster is only as writable as etcd.",
        "timeline": [
            (0, "Operator deployed"),
            (95, "etcd NOSPACE alarm"),
            (100, "API errors alert"),
            (130, "Operator scaled to zero"),
            (150, "Compaction and defrag done; resolved"),
        ],
        "remediations": [
            (
                "Alert at 70% of the etcd space quota",
                "detect",
                "done",
                "alice",
                -120,
                "Control plane > etcd",
                135,
            ),
            (
                "Object size limits for ConfigMaps via admission policy",
                "prevent",
                "open",
                "bob",
                20,
                "Control plane > Kubernetes API server",
                None,
            ),
        ],
    },
    {
        "key": "registry-1",
        "ago": 120,
        "hours": 3,
        "sev": "SEV2",
        "title": "Container registry outage blocked every deploy and autoscaling",
        "summary": "Our hosted container registry had a regional outage; nodes could not pull images, so deploys failed and newly scaled nodes stayed empty.",
        "categories": ["Containers don't start > Image pull failures"],
        "services": ["container registry", "Kubernetes"],
        "causes": [
            (
                "trigger",
                "Registry provider's regional outage.",
                "Containers don't start > Image pull failures",
            ),
            (
                "root_cause",
                "A single registry with no pull-through cache inside our network.",
                "Containers don't start > Image pull failures",
            ),
        ],
        "impact": "No deploys for three hours; autoscaling added nodes that could run nothing.",
        "detection": "ImagePullBackOff alerts on multiple deployments.",
        "resolution": "Waited out the provider's outage.",
        "well": "Running pods were unaffected because images were cached on nodes.",
        "wrong": "We had no way to deploy a fix if one had been needed.",
        "lucky": "Traffic was low; autoscaling was not really needed.",
        "lessons": "The registry is part of the production path.",
        "timeline": [
            (0, "First ImagePullBackOff"),
            (15, "Provider status page confirms outage"),
            (180, "Provider recovers; resolved"),
        ],
        "remediations": [
            (
                "Pull-through registry cache in each cluster",
                "prevent",
                "done",
                "dave",
                -60,
                "Containers don't start > Image pull failures",
                70,
            ),
            (
                "Pre-pull base images on new nodes",
                "mitigate",
                "wont_do",
                "dave",
                None,
                "Containers don't start > Image pull failures",
                None,
            ),
        ],
    },
    {
        "key": "registry-2",
        "ago": 2,
        "hours": 1,
        "sev": "SEV3",
        "title": "Image pulls failing: pull-through cache ran out of disk",
        "summary": "The registry cache added after the spring outage filled its disk and started returning 500s for uncached images.",
        "categories": ["Containers don't start > Image pull failures"],
        "services": ["container registry", "registry-cache"],
        "causes": [
            (
                "root_cause",
                "Cache garbage collection was never scheduled.",
                "Containers don't start > Image pull failures",
            )
        ],
        "impact": "Deploys of two services failed for an hour.",
        "detection": "ImagePullBackOff alert.",
        "resolution": "Ran garbage collection and grew the volume.",
        "well": "Fallback to the upstream registry worked for cached layers.",
        "wrong": "The cache had no disk alert.",
        "lucky": "The upstream registry was healthy.",
        "lessons": "Every fix is new infrastructure that can fail.",
        "timeline": [
            (0, "Cache disk at 100%"),
            (10, "Pull errors"),
            (50, "GC run"),
            (60, "Resolved"),
        ],
        "remediations": [
            (
                "Scheduled GC and disk alert for the registry cache",
                "prevent",
                "open",
                "dave",
                3,
                "Containers don't start > Image pull failures",
                None,
            )
        ],
    },
    {
        "key": "config-1",
        "ago": 210,
        "hours": 0.5,
        "sev": "SEV1",
        "title": "Invalid Envoy route configuration pushed to every proxy",
        "summary": "A route configuration with a typo in a cluster name was pushed fleet-wide; Envoy rejected it and half the proxies restarted with no routes.",
        "categories": ["Configuration > Invalid configuration push", "Networking > Envoy"],
        "services": ["Envoy", "config-server"],
        "causes": [
            ("trigger", "Manual edit of the route table.", None),
            (
                "root_cause",
                "The config pipeline validated syntax but not references between resources.",
                "Configuration > Invalid configuration push",
            ),
            ("contributing", "Pushed to all proxies at once; no canary.", None),
        ],
        "impact": "Most external traffic failed for 20 minutes.",
        "detection": "Availability alert and a flood of 404s.",
        "resolution": "Reverted the config commit.",
        "well": "Revert took two minutes once started.",
        "wrong": "Ten minutes passed before anyone connected the alert to the push.",
        "lucky": "The author was still at their desk.",
        "lessons": "Config is code: validate semantically and roll it out gradually.",
        "timeline": [
            (0, "Config pushed"),
            (2, "Availability alert"),
            (12, "Push identified as cause"),
            (14, "Revert pushed"),
            (30, "Resolved"),
        ],
        "remediations": [
            (
                "Validate configs with envoy --mode validate in CI",
                "prevent",
                "done",
                "carol",
                -180,
                "Configuration > Invalid configuration push",
                190,
            ),
            (
                "Canary config pushes to 5% of proxies first",
                "prevent",
                "done",
                "carol",
                -150,
                "Configuration > Invalid configuration push",
                160,
            ),
        ],
    },
    {
        "key": "config-2",
        "ago": 4,
        "hours": 0.6,
        "sev": "SEV2",
        "title": "Feature flag config with an invalid percentage broke the rollout service",
        "summary": "A flag configuration set a rollout percentage to 150; the flag service crashed on load, and every service fell back to defaults.",
        "categories": ["Configuration > Invalid configuration push"],
        "services": ["flag-service"],
        "causes": [
            (
                "root_cause",
                "The flag config path skipped the validation added for proxy configs.",
                "Configuration > Invalid configuration push",
            )
        ],
        "impact": "Features behind flags were off for 35 minutes.",
        "detection": "Flag service crash-loop alert.",
        "resolution": "Reverted the flag change.",
        "well": "Fallback to defaults kept the product working.",
        "wrong": "Validation covered one kind of config, not all.",
        "lucky": "Defaults were safe.",
        "lessons": "Fix the category, not the instance: every config pipeline needs validation.",
        "timeline": [
            (0, "Flag change merged"),
            (3, "Crash-loop alert"),
            (25, "Reverted"),
            (36, "Resolved"),
        ],
        "remediations": [],
    },
    {
        "key": "evict-1",
        "ago": 170,
        "hours": 2,
        "sev": "SEV1",
        "title": "Every pod in the cluster evicted by a misconfigured descheduler",
        "summary": "A descheduler policy meant for one namespace had no namespace selector; it evicted every pod in the cluster within four minutes.",
        "categories": [
            "Capacity > Mass pod eviction",
            "Configuration > Invalid configuration push",
        ],
        "services": ["descheduler", "Kubernetes"],
        "causes": [
            (
                "trigger",
                "Descheduler policy deployed.",
                "Configuration > Invalid configuration push",
            ),
            (
                "root_cause",
                "An empty selector matches everything; no PodDisruptionBudgets limited the evictions.",
                "Capacity > Mass pod eviction",
            ),
        ],
        "impact": "Full outage for 11 minutes; degraded for an hour while caches warmed.",
        "detection": "Everything alerted at once.",
        "resolution": "Deleted the descheduler deployment; pods were rescheduled.",
        "well": "Cluster capacity was enough to reschedule everything.",
        "wrong": "No PodDisruptionBudgets on most services.",
        "lucky": "It was a Tuesday morning with everyone around.",
        "lessons": "Anything that can evict needs a budget it must respect.",
        "timeline": [
            (0, "Policy deployed"),
            (4, "All pods evicted"),
            (9, "Descheduler deleted"),
            (11, "Pods running"),
            (120, "Caches warm; resolved"),
        ],
        "remediations": [
            (
                "PodDisruptionBudgets for every production deployment",
                "prevent",
                "done",
                "bob",
                -130,
                "Capacity > Mass pod eviction",
                140,
            ),
            (
                "Admission policy rejecting empty selectors in descheduler policies",
                "prevent",
                "in_progress",
                "carol",
                -10,
                "Capacity > Mass pod eviction",
                None,
            ),
        ],
    },
    {
        "key": "evict-2",
        "ago": 60,
        "hours": 1,
        "sev": "SEV2",
        "title": "Node pressure evicted half the pods in one zone",
        "summary": "A log-shipping bug filled node disks in zone b; the kubelet evicted pods under disk pressure.",
        "categories": ["Capacity > Mass pod eviction"],
        "services": ["kubelet", "log-shipper"],
        "causes": [
            (
                "root_cause",
                "Log shipper stopped rotating its buffer after an upgrade.",
                "Capacity > Mass pod eviction",
            )
        ],
        "impact": "Capacity halved in one zone for an hour; no errors seen by users.",
        "detection": "Disk pressure alert.",
        "resolution": "Rolled back the log shipper and cleaned buffers.",
        "well": "PodDisruptionBudgets kept every service above its minimum.",
        "wrong": "The upgrade went to all nodes at once.",
        "lucky": "Only one zone had upgraded yet.",
        "lessons": "PDBs only guard voluntary evictions; node pressure ignores them.",
        "timeline": [
            (0, "Disk pressure alert"),
            (20, "Log shipper identified"),
            (45, "Rollback done"),
            (60, "Resolved"),
        ],
        "remediations": [
            (
                "Ephemeral storage limits on the log shipper",
                "prevent",
                "open",
                "bob",
                -3,
                "Capacity > Mass pod eviction",
                None,
            )
        ],
    },
    {
        "key": "oom-1",
        "ago": 95,
        "hours": 1,
        "sev": "SEV3",
        "title": "API gateway pods OOMKilled after a dependency upgrade",
        "summary": "An HTTP client library upgrade buffered whole responses in memory; gateway pods were OOM-killed under normal load.",
        "categories": ["Capacity > Memory exhaustion"],
        "services": ["api-gateway"],
        "causes": [
            (
                "root_cause",
                "New client default buffers response bodies fully.",
                "Capacity > Memory exhaustion",
            )
        ],
        "impact": "Elevated latency and some 502s for an hour.",
        "detection": "OOMKilled events alert.",
        "resolution": "Rolled back the upgrade.",
        "well": "Rollback was one command.",
        "wrong": "Load tests did not include large responses.",
        "lucky": "Memory limits killed pods rather than nodes.",
        "lessons": "Test with production-sized payloads.",
        "timeline": [(0, "Deploy"), (15, "OOMKilled alert"), (40, "Rollback"), (60, "Resolved")],
        "remediations": [
            (
                "Large-payload scenarios in the gateway load test",
                "detect",
                "done",
                "alice",
                -60,
                "Capacity > Memory exhaustion",
                70,
            )
        ],
    },
    {
        "key": "dns-1",
        "ago": 130,
        "hours": 2,
        "sev": "SEV2",
        "title": "DNS timeouts inside the cluster from conntrack races",
        "summary": "Intermittent five-second DNS delays: parallel A and AAAA lookups over UDP raced in conntrack and one reply was dropped.",
        "categories": ["Networking > DNS"],
        "services": ["CoreDNS", "kube-proxy"],
        "causes": [
            (
                "root_cause",
                "Known conntrack race with parallel UDP queries from glibc resolvers.",
                "Networking > DNS",
            )
        ],
        "impact": "p99 latency of many services rose by five seconds for two hours.",
        "detection": "Latency alerts across unrelated services.",
        "resolution": "Set single-request-reopen in pod resolv.conf.",
        "well": "A teammate recognised the five-second pattern.",
        "wrong": "We looked at each service separately for an hour.",
        "lucky": "A documented workaround existed.",
        "lessons": "Latency that is exactly a timeout value points at a timeout.",
        "timeline": [
            (0, "Latency alerts"),
            (60, "Five-second pattern noticed"),
            (100, "Resolver option rolled out"),
            (120, "Resolved"),
        ],
        "remediations": [
            ("Node-local DNS cache", "prevent", "done", "dave", -90, "Networking > DNS", 100)
        ],
    },
    {
        "key": "dns-2",
        "ago": 30,
        "hours": 1,
        "sev": "SEV3",
        "title": "CoreDNS overloaded by a batch job resolving external names",
        "summary": "A crawler resolved millions of external names; CoreDNS pods saturated their CPU and internal lookups slowed.",
        "categories": ["Networking > DNS"],
        "services": ["CoreDNS", "crawler"],
        "causes": [
            (
                "root_cause",
                "No per-client limits on DNS; ndots=5 multiplied every external lookup by five.",
                "Networking > DNS",
            )
        ],
        "impact": "Internal calls slower for an hour.",
        "detection": "CoreDNS CPU alert.",
        "resolution": "Set ndots=1 for the crawler and scaled CoreDNS.",
        "well": "The node-local cache absorbed most internal lookups.",
        "wrong": "Batch jobs share DNS with production.",
        "lucky": "The crawler could be paused.",
        "lessons": "ndots matters at scale.",
        "timeline": [
            (0, "Crawler starts"),
            (15, "CPU alert"),
            (45, "ndots changed"),
            (60, "Resolved"),
        ],
        "remediations": [],
    },
    {
        "key": "cert-1",
        "ago": 80,
        "hours": 1.5,
        "sev": "SEV1",
        "title": "Expired TLS certificate on the internal API load balancer",
        "summary": "The certificate for the internal API endpoint expired; every client that verified TLS failed to connect.",
        "categories": ["Certificates"],
        "services": ["load balancer", "internal-api"],
        "causes": [
            (
                "root_cause",
                "Certificate issued manually two years ago, outside automated renewal.",
                "Certificates",
            )
        ],
        "impact": "Internal tools and two customer-facing services failed for 80 minutes.",
        "detection": "Customer reports; no expiry alert existed.",
        "resolution": "Issued and installed a new certificate.",
        "well": "The issuing CA responded within minutes.",
        "wrong": "Nobody knew the certificate existed.",
        "lucky": "It expired at 10:00 local time.",
        "lessons": "Inventory every certificate; automate renewal.",
        "timeline": [
            (0, "Certificate expires"),
            (20, "Customer reports"),
            (50, "Cause found"),
            (80, "New certificate live"),
            (90, "Resolved"),
        ],
        "remediations": [
            (
                "Alert 30 days before any certificate expires",
                "detect",
                "done",
                "alice",
                -50,
                "Certificates",
                60,
            ),
            (
                "Move all certificates to automated issuance",
                "prevent",
                "in_progress",
                "carol",
                30,
                "Certificates",
                None,
            ),
        ],
    },
    {
        "key": "lb-1",
        "ago": 6,
        "hours": 0.5,
        "sev": "SEV4",
        "title": "Load balancer health checks flapping after a timeout change",
        "summary": "Health check timeout lowered to 1 s; slow responses during GC pauses marked healthy targets down.",
        "categories": ["Networking > Load balancer"],
        "services": ["load balancer"],
        "causes": [
            (
                "root_cause",
                "Health check timeout shorter than worst-case GC pause.",
                "Networking > Load balancer",
            )
        ],
        "impact": "Brief capacity dips; no errors.",
        "detection": "Target flapping alert.",
        "resolution": "Restored 5 s timeout.",
        "well": "Alert fired quickly.",
        "wrong": "Change was not reviewed.",
        "lucky": "Low traffic.",
        "lessons": "Health checks should check health, not latency.",
        "timeline": [
            (0, "Timeout change"),
            (5, "Flapping alert"),
            (25, "Reverted"),
            (30, "Resolved"),
        ],
        "remediations": [],
    },
]


def _monday() -> datetime.datetime:
    today = timezone.now().astimezone(datetime.UTC).date()
    monday = today - datetime.timedelta(days=today.weekday())
    return datetime.datetime.combine(monday, datetime.time(9, 30), tzinfo=datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _report(spec: dict[str, Any]) -> str:
    causes = "\n".join(
        f"- **{kind.replace('_', ' ')}**: {text}" for kind, text, _ in spec["causes"]
    )
    timeline = "\n".join(f"- +{minutes} min: {text}" for minutes, text in spec["timeline"])
    return (
        f"## Summary\n\n{spec['summary']}\n\n## Impact\n\n{spec['impact']}\n\n"
        f"## Timeline\n\n{timeline}\n\n## Root causes\n\n{causes}\n\n"
        f"## Detection\n\n{spec['detection']}\n\n## Resolution\n\n{spec['resolution']}\n\n"
        f"## What went well\n\n- {spec['well']}\n\n## What went wrong\n\n- {spec['wrong']}\n\n"
        f"## Where we got lucky\n\n- {spec['lucky']}\n\n## Lessons learned\n\n{spec['lessons']}\n"
    )


def demo_records() -> list[dict[str, Any]]:
    """The demo incidents in the interchange format (see PRODUCT.md)."""
    monday = _monday()
    records = []
    for spec in _INCIDENTS + _extra_incidents():
        started = monday - datetime.timedelta(days=spec["ago"])
        resolved = started + datetime.timedelta(hours=spec["hours"])
        this_week = spec["ago"] <= 0
        remediations = []
        for title, kind, status, owner, due_in, category, done_ago in spec["remediations"]:
            remediations.append(
                {
                    "title": title,
                    "description": f"Follow-up from “{spec['title']}”.\n\n**Why:** {spec['lessons']}",
                    "kind": kind,
                    "status": status,
                    "owner": owner,
                    "due_date": (monday.date() + datetime.timedelta(days=due_in)).isoformat()
                    if due_in is not None
                    else None,
                    "opened_at": _iso(resolved + datetime.timedelta(hours=2)),
                    "done_at": _iso(monday - datetime.timedelta(days=done_ago))
                    if status == "done"
                    else None,
                    "category": category,
                    "tracker_url": f"https://tracker.example/OPS-{zlib.crc32(title.encode()) % 900 + 100}"
                    if kind != "process"
                    else "",
                }
            )
        records.append(
            {
                "external_id": f"demo-{spec['key']}",
                "title": spec["title"],
                "summary": spec["summary"],
                "body": _report(spec),
                "severity": spec["sev"],
                "status": "investigating"
                if this_week
                else ("reviewed" if spec["ago"] > 14 else "resolved"),
                "started_at": _iso(started),
                "detected_at": _iso(started + datetime.timedelta(minutes=spec["timeline"][1][0])),
                "resolved_at": None if this_week else _iso(resolved),
                "categories": spec["categories"],
                "services": spec["services"],
                "causes": [
                    {"kind": k, "description": d, "category": c} for k, d, c in spec["causes"]
                ],
                "timeline": [
                    {"at": _iso(started + datetime.timedelta(minutes=m)), "text": t}
                    for m, t in spec["timeline"]
                ],
                "remediations": remediations,
            }
        )
    return records


def _extra_incidents() -> list[dict[str, Any]]:
    """Smaller incidents that fill out the year: same failure modes, shorter reports."""
    rows = [
        # key, ago, sev, title, categories, services, root cause
        (
            "etcd-ebs-3",
            400,
            "SEV3",
            "Slow API writes during an EBS snapshot of etcd volumes",
            ["Storage > EBS latency", "Control plane > etcd"],
            ["etcd", "EBS"],
            "Snapshots of all etcd volumes were taken at once, raising latency.",
        ),
        (
            "api-1",
            220,
            "SEV3",
            "API server throttled controllers after a list-heavy CronJob",
            ["Control plane > Kubernetes API server"],
            ["Kubernetes API server"],
            "A CronJob listed all pods cluster-wide every minute without pagination.",
        ),
        (
            "api-2",
            75,
            "SEV2",
            "API server memory spike from an unbounded watch",
            ["Control plane > Kubernetes API server"],
            ["Kubernetes API server"],
            "A new operator opened a watch on all Secrets with no field selector.",
        ),
        (
            "iam-3",
            110,
            "SEV4",
            "Batch pods denied S3 access after a role rename",
            ["Containers don't start > IAM permissions"],
            ["IAM", "S3"],
            "A role was renamed without updating the pod annotations.",
        ),
        (
            "sched-2",
            50,
            "SEV4",
            "Pods Pending because a node affinity label was misspelt",
            ["Containers don't start > Scheduler bug"],
            ["kube-scheduler"],
            "A manifest asked for a node label no node carried.",
        ),
        (
            "envoy-h1-0",
            380,
            "SEV3",
            "Timeouts from the profile service: Envoy pending queue overflow",
            ["Networking > Envoy > HTTP/1.1 connection pool exhaustion"],
            ["Envoy", "profile-service"],
            "Slow upstream responses held HTTP/1.1 connections and the pending queue overflowed.",
        ),
        (
            "envoy-2",
            140,
            "SEV3",
            "Envoy hot restart dropped long-lived gRPC streams",
            ["Networking > Envoy"],
            ["Envoy"],
            "Drain time shorter than stream lifetime during hot restart.",
        ),
        (
            "oom-2",
            40,
            "SEV3",
            "Prometheus OOM after a cardinality explosion",
            ["Capacity > Memory exhaustion"],
            ["Prometheus"],
            "A label with user IDs multiplied series by ten thousand.",
        ),
        (
            "oom-3",
            12,
            "SEV2",
            "Out of memory on the search indexer after a mapping change",
            ["Capacity > Memory exhaustion"],
            ["search-indexer"],
            "A new field mapping loaded every document's text into the heap.",
        ),
        (
            "cert-2",
            200,
            "SEV3",
            "mTLS between services broke when the mesh CA rotated",
            ["Certificates", "Networking > Envoy"],
            ["Envoy", "mesh-ca"],
            "Old proxies did not trust the new root during the overlap window.",
        ),
        (
            "config-0",
            280,
            "SEV2",
            "Rate-limit config with a zero limit blocked all logins",
            ["Configuration > Invalid configuration push"],
            ["rate-limiter", "auth"],
            "A limit of 0 was read as 'block everything' rather than 'no limit'.",
        ),
        (
            "lb-2",
            160,
            "SEV3",
            "Load balancer idle timeout cut off long report downloads",
            ["Networking > Load balancer"],
            ["load balancer", "reports"],
            "Idle timeout of 60 s shorter than report generation time.",
        ),
        (
            "dns-3",
            0,
            "SEV3",
            "kubernetes DNS lookups timing out on new nodes",
            ["Networking > DNS"],
            ["CoreDNS", "node-local-dns"],
            "The node-local DNS cache DaemonSet was missing a toleration for the new node pool.",
        ),
        (
            "evict-0",
            100,
            "SEV3",
            "Cluster autoscaler drained nodes with local-storage pods",
            ["Capacity > Mass pod eviction"],
            ["cluster-autoscaler"],
            "Scale-down ignored pods with emptyDir data that was not safe to lose.",
        ),
    ]
    extras = []
    for key, ago, sev, title, categories, services, root in rows:
        extras.append(
            {
                "key": key,
                "ago": ago,
                "hours": 1,
                "sev": sev,
                "title": title,
                "summary": root,
                "categories": categories,
                "services": services,
                "causes": [("root_cause", root, categories[0])],
                "impact": "Limited: a subset of requests or jobs were slow or failed.",
                "detection": "Alerting.",
                "resolution": "Reverted or corrected the change.",
                "well": "The on-call found the cause quickly.",
                "wrong": "The change had no staged rollout.",
                "lucky": "Low traffic at the time.",
                "lessons": "Small changes deserve the same rollout care as big ones.",
                "timeline": [(0, "Problem begins"), (10, "Alert fires"), (60, "Resolved")],
                "remediations": [],
            }
        )
    return extras
