"""Every Redis key name the service uses, built in one place.

Each key of one job carries the job id as a hash tag (`{<id>}`), so all of a
job's keys live on one shard of a Redis Cluster. arq keeps its own keys
(`arq:queue`, `arq:job:<id>` ...): they are not ours to name, so they are built
from arq's own prefixes, here too, for the code that writes arq jobs directly.
Each job kind's queue (`arq:queue:<kind>`) is named after arq's shared one.
Lua scripts receive every key they touch through `KEYS`, built here.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import (
    abort_jobs_ss,
    default_queue_name,
    in_progress_key_prefix,
    job_key_prefix,
    retry_key_prefix,
)


@dataclass(frozen=True, slots=True)
class Keyspace:
    """Key names under one prefix (the `KEY_PREFIX` setting)."""

    prefix: str = "ss"

    def record(self, job_id: str) -> str:
        """Hash: the job record (state, phase, timestamps, error, request)."""
        return f"{self.prefix}:job:{{{job_id}}}"

    def events(self, job_id: str) -> str:
        """Stream: every event of the job, capped with MAXLEN ~."""
        return f"{self.prefix}:job:{{{job_id}}}:events"

    def result(self, job_id: str) -> str:
        """String: the result document (JSON) of a completed job."""
        return f"{self.prefix}:job:{{{job_id}}}:result"

    def pages(self, job_id: str) -> str:
        """List: one JSON entry per page of a crawl or batch, in order; expires with the job."""
        return f"{self.prefix}:job:{{{job_id}}}:pages"

    def crawl(self, job_id: str) -> str:
        """Hash: a running crawl's or batch's shared state: its run, limits, counters, per-host slots and gaps."""
        return f"{self.prefix}:job:{{{job_id}}}:crawl"

    def crawl_frontier(self, job_id: str) -> str:
        """Sorted set: URLs of a crawl (or batch) waiting to be fetched, scored by depth (a batch: by position)."""
        return f"{self.prefix}:job:{{{job_id}}}:frontier"

    def crawl_leases(self, job_id: str) -> str:
        """Sorted set: URLs a worker is fetching now, scored by the deadline of its lease (ms)."""
        return f"{self.prefix}:job:{{{job_id}}}:leases"

    def crawl_holders(self, job_id: str) -> str:
        """Hash: who holds each leased URL (and its depth or position)."""
        return f"{self.prefix}:job:{{{job_id}}}:holders"

    def crawl_seen(self, job_id: str) -> str:
        """Set: 64-bit keys of every URL a crawl has queued (its dedupe set), capped."""
        return f"{self.prefix}:job:{{{job_id}}}:seen"

    def crawl_fetched(self, job_id: str) -> str:
        """Set: 64-bit keys of the URLs a crawl has handed out or landed on after a redirect."""
        return f"{self.prefix}:job:{{{job_id}}}:fetched"

    def crawl_participants(self, job_id: str) -> str:
        """Sorted set: the workers taking part in a crawl now, scored by when they lapse unless heard from (ms)."""
        return f"{self.prefix}:job:{{{job_id}}}:participants"

    def crawl_robots(self, job_id: str) -> str:
        """Hash: each origin's robots.txt as the crawl read it once (verdict and rules), shared by its workers."""
        return f"{self.prefix}:job:{{{job_id}}}:robots"

    def crawl_parts(self, job_id: str) -> str:
        """Set: arq ids of the crawl parts that help a crawl or batch on other workers (a cancel aborts them)."""
        return f"{self.prefix}:job:{{{job_id}}}:parts"

    def owner_jobs(self, owner: str) -> str:
        """Sorted set: an owner's job ids scored by creation time (ms)."""
        return f"{self.prefix}:owner:{owner}:jobs"

    def owner_activity(self, owner: str) -> str:
        """Stream: the lifecycle of every job of an owner, capped with MAXLEN ~, expiring like the job index.

        Hash-tagged by the owner, not a job: in a Redis Cluster it lives on the
        owner's shard, so the scripts that echo into it cross slots there.
        """
        return f"{self.prefix}:owner:{{{owner}}}:activity"

    def history(self, minute: int) -> str:
        """Hash: jobs submitted / completed / failed in one minute (epoch minutes), and the queue depth seen then."""
        return f"{self.prefix}:history:{minute}"

    def workers(self) -> str:
        """Sorted set: live workers scored by their last heartbeat (ms)."""
        return f"{self.prefix}:workers"

    def api_key(self, key_id: str) -> str:
        """Hash: one API key (name, SHA-256 of its secret, created_at). No expiry."""
        return f"{self.prefix}:apikey:{key_id}"

    def api_key_index(self) -> str:
        """Set: every API key id. No expiry."""
        return f"{self.prefix}:apikeys"

    def token_secret(self) -> str:
        """String: the secret link tokens are signed with, when TOKEN_SECRET is not set."""
        return f"{self.prefix}:token-secret"

    def submit_rate(self, owner: str) -> str:
        """String: GCRA theoretical arrival time (ms) of an owner's submissions."""
        return f"{self.prefix}:rate:{owner}"

    def running(self, owner: str) -> str:
        """Sorted set: an owner's running job ids, scored by start time (ms)."""
        return f"{self.prefix}:running:{owner}"

    def scheduled(self) -> str:
        """Sorted set: jobs waiting for their start time (`delay_s` / `run_at`), scored by it (ms)."""
        return f"{self.prefix}:scheduled"

    def schedule(self, schedule_id: str) -> str:
        """Hash: one schedule (owner, cadence, the job body it runs, its next tick, its last run)."""
        return f"{self.prefix}:schedule:{{{schedule_id}}}"

    def owner_schedules(self, owner: str) -> str:
        """Sorted set: an owner's schedule ids scored by creation time (ms); its size is the per-key cap."""
        return f"{self.prefix}:owner:{owner}:schedules"

    def schedules_due(self) -> str:
        """Sorted set: every active schedule, scored by when its next run is due (ms, jitter included)."""
        return f"{self.prefix}:schedules:due"

    def idempotency(self, owner: str, key: str) -> str:
        """String: `<body hash> <job id>` of the submit that used this Idempotency-Key."""
        return f"{self.prefix}:idem:{owner}:{key}"

    def result_cache(self, owner: str, identity: str) -> str:
        """String: id of the owner's latest completed scrape with this URL and options."""
        return f"{self.prefix}:cache:{owner}:{identity}"

    def owner_watch(self, owner: str, url_digest: str) -> str:
        """String: an owner's last tracked look at a URL (job id, normalized Markdown, tracked fields), JSON.

        Expires CHANGES_TTL_S after it was written. `url_digest`: the URL's SHA-256, 32 hex digits.
        """
        return f"{self.prefix}:watch:{owner}:{url_digest}"

    def schedule_watch(self, schedule_id: str, url_digest: str) -> str:
        """String: a schedule's last look at a URL, as `owner_watch` (a schedule compares its own runs)."""
        return f"{self.prefix}:schedule:{{{schedule_id}}}:watch:{url_digest}"

    def owner_crawl_watch(self, owner: str, url_digest: str) -> str:
        """Set: the page URLs of an owner's last tracked crawl from one start URL (what `gone` is judged by).

        Expires CHANGES_TTL_S after that crawl.
        """
        return f"{self.prefix}:watch-crawl:{owner}:{url_digest}"

    def schedule_crawl_watch(self, schedule_id: str, url_digest: str) -> str:
        """Set: the same, for a schedule's runs."""
        return f"{self.prefix}:schedule:{{{schedule_id}}}:watch-crawl:{url_digest}"

    def crawl_looks(self, job_id: str) -> str:
        """Hash: each page URL a tracked crawl stored so far, and how it compared (new, same, changed)."""
        return f"{self.prefix}:job:{{{job_id}}}:looks"

    def schedule_changes(self, schedule_id: str) -> str:
        """Stream: a schedule's history of pages new and changed, capped at CHANGES_HISTORY_MAX; CHANGES_TTL_S."""
        return f"{self.prefix}:schedule:{{{schedule_id}}}:changes"

    def stats(self) -> str:
        """Hash: how many jobs ended completed / failed / cancelled, since the counters began."""
        return f"{self.prefix}:stats"

    def worker_load(self) -> str:
        """Hash: each worker's card (JSON: host, pid, start, jobs finished), written with its heartbeat."""
        return f"{self.prefix}:workers:running"

    def wake_channel(self) -> str:
        """Pub/sub channel: tells idle workers that there is work (or a cancel, or a schedule changed)."""
        return f"{self.prefix}:wake"

    def hub_control(self, hub_id: str) -> str:
        """Stream: wakes one web process's SSE reader when it starts watching a new job."""
        return f"{self.prefix}:hub:{hub_id}"

    # arq's keys: not under our prefix, named by arq (`arq.constants`).

    def arq_queue(self) -> str:
        """Sorted set (arq): the shared queue every worker takes (webhook deliveries, the cron, and the
        jobs a version with one queue left), scored by when they may run (ms)."""
        return default_queue_name

    def kind_queue(self, kind: str) -> str:
        """Sorted set (arq's layout): the queued arq job ids of one job kind, scored by when they may run (ms)."""
        return f"{default_queue_name}:{kind}"

    def arq_job(self, arq_id: str) -> str:
        """String (arq): the job's payload, JSON (`jobs.queue.payloads`)."""
        return job_key_prefix + arq_id

    def arq_in_progress(self, arq_id: str) -> str:
        """String (arq): a running job's lease, renewed by its worker's heartbeat."""
        return in_progress_key_prefix + arq_id

    def arq_retry(self, arq_id: str) -> str:
        """String (arq): how many times arq has started the job (its `max_tries` counts these)."""
        return retry_key_prefix + arq_id

    def arq_abort(self) -> str:
        """Sorted set (arq): arq job ids to abort, scored by when that was asked (ms)."""
        return abort_jobs_ss
