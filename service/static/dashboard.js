// The Scrapestream dashboard. Everything the API returns may come from a hostile page
// (titles, URLs, messages), so the DOM is built with createElement and textContent only.
// The page's CSP also enforces Trusted Types: an innerHTML assignment would throw.
//
// After the first load nothing polls: the job list, the tiles, the failures and the
// history follow one activity stream (`GET /events`), which EventSource resumes with
// Last-Event-ID after a disconnect, so a web restart loses nothing.
"use strict";

const KEY_STORAGE = "scrapestream.apiKey";
const STATUSES = ["queued", "scheduled", "running", "retrying", "completed", "failed", "cancelled"];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const JOB_KINDS = ["scrape", "crawl", "batch", "ask"];  // a worker that takes them all shows as "every kind"
const EVENT_TYPES = ["queued", "started", "progress", "retrying", "page", "changed", "completed", "failed",
  "cancelled", "resync"];
const LIFECYCLE = ["queued", "started", "retrying", "completed", "failed", "cancelled"];
const RECORD_FIELDS = ["status", "phase", "percent", "attempt", "started_at", "finished_at", "error"];
const LOG_MAX = 500;  // a 10,000-page crawl must not grow the page without bound
const LIST_MAX = 500;  // rows kept in the job list; a day of jobs arriving live must not either
const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;  // one request per pause in typing, not one per key
const MINUTE_MS = 60_000;
const HISTORY_MINUTES = 60;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

function button(text, className, onClick, label) {
  const node = el("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  node.addEventListener("click", onClick);
  return node;
}

function badge(status) {
  // The class is chosen from a fixed list, never built from what the server sent.
  return el("span", STATUSES.includes(status) ? `badge s-${status}` : "badge", status ?? "?");
}

const LONG_TIME = { dateStyle: "short", timeStyle: "medium" };
const SHORT_TIME = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" };
const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit" };

function timeEl(iso, format = LONG_TIME) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const node = el("time", null, date.toLocaleString(undefined, format));
  node.dateTime = date.toISOString();
  return node;
}

// Only http(s) URLs become links: a `javascript:` URL from a page must stay text.
function urlEl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      const a = el("a", null, url);
      a.href = parsed.href;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      return a;
    }
  } catch { /* not a URL: shown as text */ }
  return el("span", null, String(url ?? ""));
}

// A link to a job's detail in this page: the id only ever lands in the fragment, encoded.
function jobLink(id, text) {
  const a = el("a", "mono", text ?? String(id).slice(0, 8));
  a.href = `#job/${encodeURIComponent(id)}`;
  a.setAttribute("aria-label", `Job ${id}`);
  return a;
}

function percentOf(value) {
  const n = Number(value);
  return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
}

function millis(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : null;
}

function spanText(ms) {
  if (ms === null || ms < 0) return "—";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

// A running job's duration grows until it ends; a finished one's is fixed.
function durationOf(job, now = Date.now()) {
  const start = millis(job.started_at);
  if (start === null) return null;
  const end = millis(job.finished_at) ?? (TERMINAL.has(job.status) ? null : now);
  return end === null ? null : end - start;
}

// What a job was asked to do, in one line: its URL, a batch's count and first URL, an ask's question.
function subjectOf(job) {
  if (job.type === "batch") {
    const urls = Array.isArray(job.urls) ? job.urls : [];
    const count = job.urls_count ?? urls.length;
    return `${count} URL${count === 1 ? "" : "s"}${urls.length ? `: ${urls[0]}` : ""}`;
  }
  if (job.type === "ask") {
    const questions = Array.isArray(job.questions) ? job.questions : [];
    const more = questions.length > 1 ? ` (+${questions.length - 1})` : "";
    return questions.length ? `${questions[0]}${more}` : String(job.url ?? job.job ?? "");
  }
  return String(job.url ?? "");
}

// --- the API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || (status ? `HTTP ${status}` : "no answer from the server"));
    this.status = status;
    this.code = error.code;
    this.field = error.field;
  }
}

// Same-origin paths only: an absolute URL from the server is reduced to its path.
function pathOf(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.Authorization = `Bearer ${key}`;  // a header, never the URL: URLs end up in logs
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(pathOf(path), {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);  // the web process did not answer (restarting, say)
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (response.status === 401) askForKey(data && data.error ? data.error.message : "");
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// GET `path` for a panel that reloads (its `seq` counts the loads): `{ answer }`, or null when
// a newer load began meanwhile (a slower, older answer must not overwrite it) or the request
// failed, which the panel's error line `errorId` then shows.
async function newestAnswer(panel, path, errorId) {
  const seq = ++panel.seq;
  let answer;
  try {
    answer = await api(path);
  } catch (error) {
    if (seq === panel.seq) {
      $(errorId).hidden = false;
      $(errorId).textContent = error.message;
    }
    return null;
  }
  if (seq !== panel.seq) return null;
  $(errorId).hidden = true;
  return { answer };
}

// --- API key ---------------------------------------------------------------------------

function askForKey(reason) {
  const form = $("key-form");
  const first = form.hidden;
  form.hidden = false;
  $("key-reason").textContent = sessionStorage.getItem(KEY_STORAGE)
    ? `The server refused this key${reason ? `: ${reason}` : "."}` : "This server asks for an API key.";
  if (first) $("api-key").focus();
}

function showKeyState() {
  $("forget-key").hidden = !sessionStorage.getItem(KEY_STORAGE);
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  // fetch() refuses header values outside Latin-1; say so instead of failing later.
  if (!key || !/^[\x21-\x7e]+$/.test(key)) { $("key-reason").textContent = "That does not look like an API key."; return; }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("api-key").value = "";
  $("key-form").hidden = true;
  showKeyState();
  start();
});

$("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyState();
  start();
});

// --- service tiles: /health and /queue once, then the stream's `queue` events -----------

const tiles = { redis: null, workers: null, queue: null };

function stat(name, value, note) {
  return el("div", null, el("dt", null, name), el("dd", null, value ?? "—", note ? el("small", null, note) : null));
}

function renderTiles() {
  const q = tiles.queue;
  const shown = [stat("Redis", tiles.redis), stat("Workers", q && Number.isFinite(q.workers) ? q.workers : tiles.workers)];
  if (q) {
    const byPriority = Object.entries((q.queued && q.queued.by_priority) || {})
      .filter(([, n]) => n > 0).sort(([a], [b]) => b - a).map(([p, n]) => `p${p}: ${n}`).join(" · ");
    shown.push(stat("Queued", q.queued && q.queued.total, byPriority || null));
    // Per job kind (each has its own queue and, maybe, its own pool of workers): what waits, and any
    // kind that waits with no live worker taking it.
    const kinds = Object.entries(q.kinds || {});
    if (kinds.length) {
      const waiting = kinds.filter(([, n]) => n.queued > 0).map(([kind, n]) => `${kind} ${n.queued}`).join(" · ");
      const unserved = kinds.filter(([, n]) => n.queued > 0 && n.workers === 0).map(([kind]) => kind).join(", ");
      shown.push(stat("By kind", waiting || "none waiting", unserved ? `no pool takes ${unserved}` : null));
    }
    for (const name of ["scheduled", "running", "retrying", "completed", "failed", "cancelled"]) {
      if (name in q) shown.push(stat(name[0].toUpperCase() + name.slice(1), q[name]));
    }
  }
  $("stats").replaceChildren(...shown);
}

async function loadTiles() {
  try {
    const health = await api("/health");
    Object.assign(tiles, { redis: health.redis, workers: health.workers });
  } catch (error) {
    // 503: the web process is up but Redis is not; no status: the web process did not answer.
    tiles.redis = error.status === 503 ? "unreachable" : error.status ? `error ${error.status}` : "no answer";
  }
  try {
    tiles.queue = await api("/queue");
  } catch { /* /health alone still says whether the service is up */ }
  renderTiles();
}

function onQueueNumbers(numbers) {
  const before = tiles.queue && tiles.queue.workers;
  tiles.queue = numbers;
  tiles.redis = "ok";  // the numbers came from Redis just now
  renderTiles();
  historyView.depthNow(numbers.queued && numbers.queued.total);
  if (before !== numbers.workers) workersView.changed();
}

// --- the activity stream ------------------------------------------------------------------

// `gen` changes on every (re)start, e.g. a new API key: the old stream's late events are dropped.
const activity = { source: null, lastEventId: null, gen: 0, loaded: false, backoffMs: 1000, retryTimer: null };

function liveState(text, ok) {
  $("live").textContent = text;
  $("live").classList.toggle("ok", ok);
}

function recordOf(data) {
  // The lifecycle event carries the job's public record, whole.
  const record = data && typeof data.job === "object" && data.job ? data.job
    : data && typeof data.record === "object" && data.record ? data.record : data;
  return record && typeof record.id === "string" ? record : null;
}

async function activityUrl() {
  // EventSource cannot send an API key: the link carries a read token scoped to this key's jobs.
  const link = await api("/events/link");
  return pathOf((link && (link.url || link.href)) || "/events");
}

async function connectActivity(gen) {
  clearTimeout(activity.retryTimer);
  let url;
  try {
    url = new URL(await activityUrl(), location.href);
  } catch (error) {
    if (gen !== activity.gen) return;
    liveState(error.status === 401 ? "needs a key" : "offline, retrying…", false);
    if (!activity.loaded) firstLoad(gen);
    if (error.status !== 401) reconnectLater(gen);
    return;
  }
  if (gen !== activity.gen) return;
  if (activity.lastEventId) url.searchParams.set("last_event_id", activity.lastEventId);
  const source = new EventSource(url.pathname + url.search);
  activity.source = source;
  for (const type of LIFECYCLE) source.addEventListener(type, (message) => onActivity(type, message, gen));
  // A tracked page changed: only a schedule's last change moves (the job's own row waits for `completed`).
  source.addEventListener("changed", (message) => {
    if (gen !== activity.gen) return;
    if (message.lastEventId) activity.lastEventId = message.lastEventId;
    const data = parsed(message);
    const record = recordOf(data);
    if (record) schedulesView.onActivity("changed", record, Number.isFinite(data.ts) ? data.ts : Date.now());
  });
  source.addEventListener("queue", (message) => {
    if (gen !== activity.gen) return;
    const data = parsed(message);
    onQueueNumbers(data.queue && typeof data.queue === "object" ? data.queue : data);
  });
  source.addEventListener("resync", (message) => {
    if (gen !== activity.gen) return;
    if (message.lastEventId) activity.lastEventId = message.lastEventId;
    reloadAll();  // history was trimmed past where we were: read the state afresh instead
  });
  source.onopen = () => {
    if (gen !== activity.gen) return;
    activity.backoffMs = 1000;
    liveState("live", true);
    if (!activity.loaded) firstLoad(gen);
  };
  source.onerror = () => {
    if (gen !== activity.gen || activity.source !== source) return;
    if (source.readyState !== EventSource.CLOSED) { liveState("reconnecting…", false); return; }
    // EventSource gives up on any answer but 200 (an expired token, say): a fresh link, from where we were.
    source.close();
    activity.source = null;
    liveState("offline, retrying…", false);
    if (!activity.loaded) firstLoad(gen);
    reconnectLater(gen);
  };
}

function reconnectLater(gen) {
  activity.retryTimer = setTimeout(() => { if (gen === activity.gen) connectActivity(gen); }, activity.backoffMs);
  activity.backoffMs = Math.min(activity.backoffMs * 2, 30_000);
}

function parsed(message) {
  try { return JSON.parse(message.data) || {}; } catch { return {}; }
}

function onActivity(type, message, gen) {
  if (gen !== activity.gen) return;
  if (message.lastEventId) activity.lastEventId = message.lastEventId;
  const data = parsed(message);
  const record = recordOf(data);
  if (!record) return;
  const ts = Number.isFinite(data.ts) ? data.ts : Date.now();
  jobList.onRecord(record);
  failures.onRecord(type, record);
  historyView.onLifecycle(type, record, ts);
  workersView.onLifecycle(type, record);
  schedulesView.onActivity(type, record, ts);
  if (record.id === detail.id && type === "queued" && detail.record && TERMINAL.has(detail.record.status)) {
    reopenDetail(record.id);  // re-run elsewhere (another tab, the CLI): follow the new attempt
  }
}

// The stream is open before the first list is read, so nothing that happens in between is missed.
function firstLoad(gen) {
  if (gen !== activity.gen || activity.loaded) return;
  activity.loaded = true;
  reloadAll();
}

function reloadAll() {
  loadTiles();
  jobList.load();
  failures.load();
  if (currentView() === "workers") workersView.load();
  if (currentView() === "history") historyView.load();
  if (currentView() === "schedules") schedulesView.load();
}

function start() {
  activity.gen++;
  if (activity.source) activity.source.close();
  Object.assign(activity, { source: null, lastEventId: null, loaded: false, backoffMs: 1000 });
  historyView.loaded = false;
  liveState("connecting…", false);
  connectActivity(activity.gen);
}

// --- the job list ---------------------------------------------------------------------

const jobList = {
  status: "", type: "", search: "", cursor: null, seq: 0, loading: false, pending: [], records: new Map(),
  searchTimer: null,

  matches(job) {
    if (this.status && job.status !== this.status) return false;
    if (this.type && job.type !== this.type) return false;
    if (this.search) {
      // As the server filters: the job's URL, or one of a batch's first three, contains the text in any case.
      const needle = this.search.toLowerCase();
      const urls = [job.url, ...(Array.isArray(job.urls) ? job.urls.slice(0, 3) : [])];
      if (!urls.some((url) => typeof url === "string" && url.toLowerCase().includes(needle))) return false;
    }
    return true;
  },

  row(job) {
    const percent = percentOf(job.percent);
    const bar = el("progress");
    bar.max = 100;
    bar.value = percent;
    bar.setAttribute("aria-label", `${percent} %`);
    const open = button(String(job.id).slice(0, 8), "link", () => { location.hash = `#job/${encodeURIComponent(job.id)}`; },
      `Open job ${job.id}`);
    open.dataset.id = job.id;
    const subject = subjectOf(job);
    const what = el("td", "subject", subject || "—");
    what.title = subject;
    const duration = el("td", "duration", spanText(durationOf(job)));
    const row = el("tr", job.id === detail.id ? "selected" : null,
      el("td", null, open), what, el("td", null, job.type), el("td", null, badge(job.status)),
      el("td", null, bar, ` ${percent} %`), el("td", "num", job.attempt ?? "—"),
      el("td", null, timeEl(job.created_at, SHORT_TIME)), duration);
    row.dataset.id = job.id;
    return row;
  },

  rowOf(id) {
    return [...$("jobs-body").children].find((row) => row.dataset.id === id) || null;
  },

  // A record from the stream: its row changes, a new job appears in its place, one that left the filter goes.
  onRecord(job) {
    if (this.loading) { this.pending.push(job); return; }
    const known = this.records.get(job.id);
    const merged = known ? { ...known, ...job } : job;
    const old = this.rowOf(job.id);
    if (!this.matches(merged)) {
      if (old) old.remove();
      this.records.delete(job.id);
      this.after();
      return;
    }
    if (!old && !this.belongsOnThisPage(merged)) return;
    this.records.set(job.id, merged);
    const row = this.row(merged);
    if (old) {
      const hadFocus = old.contains(document.activeElement);
      old.replaceWith(row);
      if (hadFocus) row.querySelector("button").focus();  // keyboard users keep their place
    } else {
      const created = millis(merged.created_at) ?? Date.now();
      const later = [...$("jobs-body").children].find((r) => (millis(this.records.get(r.dataset.id)?.created_at) ?? 0) < created);
      $("jobs-body").insertBefore(row, later || null);
    }
    this.after();
  },

  // Newest first: an older job than the last row shown belongs to a page not read yet.
  belongsOnThisPage(job) {
    if (!this.cursor) return true;
    const last = $("jobs-body").lastElementChild;
    const lastCreated = last ? millis(this.records.get(last.dataset.id)?.created_at) : null;
    return lastCreated === null || (millis(job.created_at) ?? Date.now()) >= lastCreated;
  },

  after() {
    const body = $("jobs-body");
    while (body.children.length > LIST_MAX) {
      this.records.delete(body.lastElementChild.dataset.id);
      body.lastElementChild.remove();
    }
    $("jobs-empty").hidden = body.children.length > 0;
    $("jobs-empty").textContent = this.status || this.type || this.search ? "No job matches." : "No jobs yet.";
    durations.schedule();
  },

  async load({ more = false } = {}) {
    const seq = ++this.seq;  // a slower, older answer must not overwrite a newer one
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.status) params.set("status", this.status);
    if (this.type) params.set("type", this.type);
    if (this.search) params.set("url", this.search);
    if (more && this.cursor) params.set("cursor", this.cursor);
    // Records that arrive while the page is read are applied after it, in order: the last word is theirs.
    if (!this.loading) this.pending = [];
    this.loading = true;
    let page;
    try {
      page = await api(`/jobs?${params}`);
    } catch (error) {
      if (seq !== this.seq) return;
      this.loading = false;
      $("jobs-error").hidden = false;
      $("jobs-error").textContent = error.status === 401 ? "An API key is needed to list jobs." : error.message;
      this.flush();
      return;
    }
    if (seq !== this.seq) return;
    this.loading = false;
    $("jobs-error").hidden = true;
    const body = $("jobs-body");
    const focused = body.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    if (!more) this.records.clear();
    const jobs = (page.jobs || []).filter((job) => !this.records.has(job.id));
    for (const job of jobs) this.records.set(job.id, job);
    const rows = jobs.map((job) => this.row(job));
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    this.cursor = page.next_cursor;
    $("more").hidden = !page.next_cursor;
    this.flush();
    if (focused) this.rowOf(focused)?.querySelector("button")?.focus();
  },

  flush() {
    const pending = this.pending;
    this.pending = [];
    for (const job of pending) this.onRecord(job);
    this.after();
  },

  filtersChanged() {
    this.status = $("status-filter").value;
    this.type = $("type-filter").value;
    this.search = $("search").value.trim();
    this.load();
  },
};

$("filters").addEventListener("submit", (event) => { event.preventDefault(); jobList.filtersChanged(); });
$("status-filter").addEventListener("change", () => jobList.filtersChanged());
$("type-filter").addEventListener("change", () => jobList.filtersChanged());
$("search").addEventListener("input", () => {
  clearTimeout(jobList.searchTimer);
  jobList.searchTimer = setTimeout(() => jobList.filtersChanged(), SEARCH_DELAY_MS);
});
$("more").addEventListener("click", () => jobList.load({ more: true }));

// Running jobs' durations tick on screen; this only redraws text and asks the server nothing.
const durations = {
  timer: null,
  schedule() {
    if (this.timer !== null) return;
    const running = [...jobList.records.values()].some((job) => job.started_at && !TERMINAL.has(job.status));
    if (running) this.timer = setTimeout(() => this.tick(), 1000);
  },
  tick() {
    this.timer = null;
    const now = Date.now();
    for (const row of $("jobs-body").children) {
      const job = jobList.records.get(row.dataset.id);
      if (job && job.started_at && !TERMINAL.has(job.status)) row.querySelector(".duration").textContent = spanText(durationOf(job, now));
    }
    this.schedule();
  },
};

// --- submitting -----------------------------------------------------------------------

const FIELD_INPUTS = { url: "f-url", urls: "f-urls", questions: "f-questions", job: "f-job", type: "f-type" };

function showFields() {
  const type = $("f-type").value;
  for (const node of document.querySelectorAll("#submit-form [data-for]")) {
    node.hidden = !node.dataset.for.split(" ").includes(type);
  }
}

function lines(id) {
  return $(id).value.split("\n").map((line) => line.trim()).filter(Boolean);
}

function buildBody() {
  const type = $("f-type").value;
  let body = {};
  const raw = $("f-options").value.trim();
  if (raw) {
    try { body = JSON.parse(raw); } catch (error) { throw Object.assign(new Error(`not valid JSON (${error.message})`), { field: "options" }); }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw Object.assign(new Error("a JSON object, such as {\"priority\": 9}"), { field: "options" });
    }
  }
  body.type = type;
  if (type === "batch") body.urls = lines("f-urls");
  else if (type !== "ask" || $("f-url").value.trim()) body.url = $("f-url").value.trim();
  if (type === "ask") {
    body.questions = lines("f-questions");
    if ($("f-job").value.trim()) body.job = $("f-job").value.trim();
  }
  return body;
}

function showSubmitError(error) {
  const box = $("submit-error");
  const field = error.field ? String(error.field) : null;
  // The server's message already starts with "field: " (for curl users): show the field once, in bold.
  const message = String(error.message ?? "");
  const rest = field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  box.replaceChildren(field ? el("strong", null, `${field}: `) : "", rest);
  box.hidden = false;
  const input = field && $(FIELD_INPUTS[field.split(".")[0]] || "f-options");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "submit-error");
  }
}

function clearSubmitError() {
  $("submit-error").hidden = true;
  for (const node of document.querySelectorAll("#submit-form [aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  }
}

$("f-type").addEventListener("change", () => { clearSubmitError(); showFields(); });
$("submit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearSubmitError();
  $("submit-status").textContent = "";
  const submit = $("submit-button");
  submit.disabled = true;
  try {
    const job = await api("/jobs", { method: "POST", body: buildBody() });
    $("submit-status").textContent = `Submitted ${job.type} job ${job.id}.`;
    // The list learns of the job from the activity stream, like any job submitted elsewhere.
    location.hash = `#job/${encodeURIComponent(job.id)}`;
  } catch (error) {
    showSubmitError(error);
  } finally {
    submit.disabled = false;
  }
});

// --- one job: record, live events, result ---------------------------------------------

// `gen` changes whenever another job is opened: late answers for the old one are dropped.
const detail = { id: null, record: null, source: null, lastEventId: null, gen: 0 };

function closeStream() {
  if (detail.source) detail.source.close();
  detail.source = null;
}

function renderRecord() {
  const r = detail.record;
  const percent = percentOf(r.percent);
  $("d-progress").value = percent;
  $("d-percent").textContent = `${percent} %`;
  const rows = [["Status", badge(r.status)], ["Type", r.type]];
  const subject = subjectOf(r);
  if (subject) rows.push([r.type === "ask" ? "Asked" : "URL", r.type === "batch" || r.type === "ask" ? subject : urlEl(subject)]);
  rows.push(["Phase", r.phase || "—"], ["Attempt", r.attempt ?? "—"], ["Created", timeEl(r.created_at)],
    ["Started", timeEl(r.started_at)], ["Finished", timeEl(r.finished_at)]);
  if (r.error) rows.push(["Error", el("span", null, el("code", null, r.error.code), " ", r.error.message)]);
  $("record").replaceChildren(...rows.flatMap(([name, value]) => [el("dt", null, name), el("dd", null, value)]));
  $("cancel").disabled = TERMINAL.has(r.status);
  $("retry").disabled = !(r.status === "failed" || r.status === "cancelled");
  for (const row of $("jobs-body").children) row.classList.toggle("selected", row.dataset.id === r.id);
}

function describe(type, d) {
  switch (type) {
    case "queued": return [`priority ${d.priority ?? "—"}`, d.run_at ? `, runs at ${d.run_at}` : ""];
    case "started": return [`attempt ${d.attempt ?? "?"} on ${d.worker ?? "?"}`];
    case "progress": return [`${percentOf(d.percent)} % ${d.phase ?? ""} `, d.message ?? ""];
    case "retrying": return [`attempt ${d.attempt} failed (${d.code}): ${d.message ?? ""}; again in ${d.delay_s} s`];
    case "page": return [`${d.status ?? ""} `, urlEl(d.url), d.title ? ` — ${d.title}` : "",
      d.error ? ` (${d.error.code ?? d.error})` : ""];  // a code here, {code, message} in results
    case "completed": {
      const s = d.summary || {};
      return [s.title ? `${s.title} — ` : "", s.url ? urlEl(s.url) : "", s.pages !== undefined ? ` ${s.pages} pages` : ""];
    }
    case "changed": {
      const fields = Object.keys((d.change && d.change.fields) || {});
      return [urlEl(d.url), ` changed: ${fields.length ? fields.join(", ") : "its text"}`];
    }
    case "failed": return [el("code", null, d.code ?? "?"), ` ${d.message ?? ""}`];
    case "cancelled": return [`by ${d.by ?? "?"}`];
    case "resync": return ["older events were trimmed; the record was reloaded"];
    default: return [JSON.stringify(d).slice(0, 300)];
  }
}

function logEvent(type, data) {
  const when = Number.isFinite(data.ts) ? new Date(data.ts).toISOString().slice(11, 23) : "";
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  log.append(el("li", null, el("span", "t", when), el("span", null, badge(type)), el("span", null, ...describe(type, data))));
  while (log.children.length > LOG_MAX) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function onEvent(type, message, gen) {
  if (gen !== detail.gen) return;
  const data = parsed(message);
  if (message.lastEventId) detail.lastEventId = message.lastEventId;
  logEvent(type, data);
  const r = detail.record;
  if (type === "queued") Object.assign(r, { status: data.run_at ? "scheduled" : "queued", percent: 0, error: null });
  else if (type === "started") Object.assign(r, { status: "running", attempt: data.attempt ?? r.attempt });
  else if (type === "progress") Object.assign(r, { status: "running", phase: data.phase, percent: data.percent });
  else if (type === "retrying") r.status = "retrying";
  else if (type === "completed") Object.assign(r, { status: "completed", percent: 100 });
  else if (type === "failed") Object.assign(r, { status: "failed", error: { code: data.code, message: data.message } });
  else if (type === "cancelled") r.status = "cancelled";
  else if (type === "resync" && data.record) {
    for (const field of RECORD_FIELDS) if (field in data.record) r[field] = data.record[field];
  }
  renderRecord();
  if (TERMINAL.has(type)) afterTerminal(gen);
}

function follow(gen) {
  closeStream();
  // links.events carries the job's read-only token: EventSource cannot send an API key.
  const url = new URL(detail.record.links.events, location.href);
  if (detail.lastEventId) url.searchParams.set("last_event_id", detail.lastEventId);
  const source = new EventSource(url.pathname + url.search);
  detail.source = source;
  for (const type of EVENT_TYPES) source.addEventListener(type, (message) => onEvent(type, message, gen));
  source.onopen = () => { if (detail.source === source) $("stream-state").textContent = "(live)"; };
  source.onerror = () => {
    if (detail.source !== source) return;
    $("stream-state").textContent = source.readyState === EventSource.CLOSED ? "(closed)" : "(reconnecting…)";
  };
  $("stream-state").textContent = "(connecting…)";
}

async function afterTerminal(gen) {
  closeStream();  // before the server hangs up, so EventSource does not reconnect for nothing
  $("stream-state").textContent = "(ended)";
  try {
    detail.record = await api(`/jobs/${encodeURIComponent(detail.id)}`);
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
    return;
  }
  if (gen !== detail.gen) return;
  renderRecord();
  // Re-run since (the activity stream says so too): keep following from the last event seen.
  if (!TERMINAL.has(detail.record.status)) { follow(gen); return; }
  if (detail.record.status === "completed") loadResult(gen, detail.record.links.result, false);
}

function showDetailError(error) {
  $("detail-error").hidden = false;
  $("detail-error").textContent = error.message;
}

async function openJob(id) {
  closeStream();
  const gen = ++detail.gen;
  Object.assign(detail, { id, record: null, lastEventId: null });
  $("detail").hidden = false;
  $("detail-error").hidden = true;
  $("detail-title").textContent = `Job ${id}`;
  $("log").replaceChildren();
  $("record").replaceChildren();
  $("result").replaceChildren(el("p", "hint", "Shown once the job completes."));
  $("cancel").disabled = $("retry").disabled = true;
  $("detail-title").focus();
  try {
    const record = await api(`/jobs/${encodeURIComponent(id)}`);
    if (gen !== detail.gen) return;
    detail.record = record;
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
    return;
  }
  renderRecord();
  follow(gen);
}

// The job ended and was re-run: follow on from the last event seen, without clearing the log.
function reopenDetail(id) {
  if (detail.id !== id || detail.source || !detail.record) return;
  detail.record.status = "queued";
  $("result").replaceChildren(el("p", "hint", "Shown once the job completes."));
  follow(detail.gen);
}

function closeDetail() {
  closeStream();
  detail.gen++;
  detail.id = null;
  $("detail").hidden = true;
  for (const row of $("jobs-body").children) row.classList.remove("selected");
}

function resultTable(pages) {
  const rows = pages.map((p) => el("tr", null, el("td", null, urlEl(p.url)), el("td", null, p.status ?? ""),
    el("td", null, p.error ? el("span", "error", `${p.error.code}: ${p.error.message ?? ""}`) : p.title ?? "")));
  return el("div", "scroll", el("table", null, el("thead", null, headRow(["URL", "Status", "Title"])),
    el("tbody", null, ...rows)));
}

function headRow(names) {
  return el("tr", null, ...names.map((name) => {
    const th = el("th", null, name);
    th.scope = "col";
    return th;
  }));
}

function rawJson(data) {
  const text = JSON.stringify(data, null, 2);
  const cut = text.length > 200000 ? `${text.slice(0, 200000)}\n… (cut; read the whole result from the API)` : text;
  return el("details", null, el("summary", null, "JSON"), el("pre", null, cut));
}

async function loadResult(gen, url, append) {
  let data;
  try {
    data = await api(url);
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
    return;
  }
  if (gen !== detail.gen) return;
  const box = $("result");
  if (!append) box.replaceChildren();
  box.querySelector("button.more-pages")?.remove();
  if (Array.isArray(data.pages)) {  // crawl and batch: a slice of pages, and the URL of the next one
    if (!append) box.append(el("p", "hint", `${data.total} pages`));
    box.append(resultTable(data.pages));
    if (data.next) box.append(button("More pages", "more-pages", () => loadResult(gen, data.next, true)));
  } else if (Array.isArray(data.answers)) {  // ask
    box.append(el("dl", "record", ...data.answers.flatMap((a) => [el("dt", null, a.question),
      el("dd", null, a.answer ?? "", ...(a.sources || []).flatMap((s) => [" ", urlEl(s)]))])));
  } else {  // scrape: one page
    box.append(el("dl", "record", el("dt", null, "Title"), el("dd", null, data.title ?? "—"),
      el("dt", null, "URL"), el("dd", null, urlEl(data.url)), el("dt", null, "Status"), el("dd", null, data.status ?? "—")));
    if (data.markdown) box.append(el("h3", null, "Main content"), el("pre", null, String(data.markdown).slice(0, 20000)));
  }
  box.append(rawJson(data));
}

$("cancel").addEventListener("click", async () => {
  const gen = detail.gen;
  try {
    await api(`/jobs/${encodeURIComponent(detail.id)}`, { method: "DELETE" });
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
  }
  // The `cancelled` event arrives on the stream and updates the record.
});

$("retry").addEventListener("click", async () => {
  const gen = detail.gen;
  try {
    detail.record = await api(`/jobs/${encodeURIComponent(detail.id)}/retry`, { method: "POST" });
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
    return;
  }
  if (gen !== detail.gen) return;
  $("detail-error").hidden = true;
  $("result").replaceChildren(el("p", "hint", "Shown once the job completes."));
  renderRecord();
  follow(gen);  // from the last event seen: only the new attempt's events
});

$("close-detail").addEventListener("click", () => { location.hash = "#jobs"; });

// --- views: #jobs, #job/<id>, #workers, #failures, #history, #schedules ----------------

const VIEWS = ["jobs", "workers", "failures", "history", "schedules"];

function currentView() {
  const name = location.hash.slice(1).split("/")[0];
  return VIEWS.includes(name) ? name : "jobs";
}

function showView() {
  const [name, ...rest] = location.hash.slice(1).split("/");
  const view = currentView();
  for (const panel of document.querySelectorAll("[data-view-panel]")) panel.hidden = panel.dataset.viewPanel !== view;
  for (const link of document.querySelectorAll("nav.views a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (name === "job" && rest.length) {
    let id;
    try { id = decodeURIComponent(rest.join("/")); } catch { id = null; }
    if (id && id !== detail.id) openJob(id);
    return;
  }
  if (view === "jobs" && detail.id) closeDetail();
  if (view === "workers") workersView.load();
  if (view === "failures") failures.render();
  if (view === "history" && !historyView.loaded) historyView.load(); else if (view === "history") historyView.render();
  if (view === "schedules") schedulesView.load();
}

window.addEventListener("hashchange", () => {
  showView();
  const heading = document.querySelector(`[data-view-panel="${currentView()}"] h2[tabindex]`);
  if (heading && !location.hash.startsWith("#job/")) heading.focus();  // keyboard users land in the new view
});

// --- workers: GET /workers when shown; the stream's events keep it current --------------

const workersView = {
  timer: null, seq: 0, workers: [], finished: new Map(), ended: new Set(),

  // A job started somewhere: which worker took it only /workers can say (one read for a burst of events).
  changed() {
    if (currentView() !== "workers") return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 300);
  },

  // A job ended: its worker no longer runs it and has finished one more. The heartbeat that /workers
  // reads the count from comes later, so the count is kept here too and the larger one shown.
  onLifecycle(type, job) {
    if (type === "started") { this.ended.delete(job.id); this.changed(); return; }
    if (!TERMINAL.has(type) && type !== "retrying") return;
    // An answer to /workers read before this event may still name the job: it is left out of it.
    this.ended.add(job.id);
    if (this.ended.size > 1000) this.ended.delete(this.ended.values().next().value);
    for (const worker of this.workers) {
      const jobs = Array.isArray(worker.jobs) ? worker.jobs : [];
      if (!jobs.some((running) => running.id === job.id)) continue;
      worker.jobs = jobs.filter((running) => running.id !== job.id);
      if (TERMINAL.has(type)) {
        worker.finished = (Number(worker.finished) || 0) + 1;
        this.finished.set(worker.name, worker.finished);
      }
    }
    if (currentView() === "workers") this.render();
  },

  async load() {
    const loaded = await newestAnswer(this, "/workers", "workers-error");
    if (!loaded) return;
    const { answer } = loaded;
    this.workers = (answer && Array.isArray(answer.workers)) ? answer.workers : [];
    for (const worker of this.workers) {
      worker.jobs = (Array.isArray(worker.jobs) ? worker.jobs : []).filter((job) => !this.ended.has(job.id));
      const counted = Math.max(Number(worker.finished) || 0, this.finished.get(worker.name) || 0);
      worker.finished = counted;
      this.finished.set(worker.name, counted);
    }
    $("workers-asof").textContent = `as of ${new Date().toLocaleTimeString(undefined, CLOCK)}`;
    this.render();
  },

  render() {
    $("workers-body").replaceChildren(...this.workers.map((worker) => this.row(worker)));
    $("workers-empty").hidden = this.workers.length > 0;
  },

  row(worker) {
    // A worker of a version before pools per kind names none: it takes every kind too.
    const kindsOf = (w) => Array.isArray(w.kinds) && !JOB_KINDS.every((kind) => w.kinds.includes(kind))
      ? w.kinds.join(", ") : "every kind";
    const jobs = Array.isArray(worker.jobs) ? worker.jobs : [];
    const running = jobs.length ? el("ul", "plain", ...jobs.map((job) => el("li", null, jobLink(job.id), ` ${job.type ?? ""} `,
      el("span", "hint", subjectOf(job))))) : el("span", "hint", "idle");
    const row = el("tr", null, el("td", "mono", worker.name ?? "?"),
      el("td", null, `${worker.host ?? "?"} · pid ${worker.pid ?? "?"}`),
      el("td", null, timeEl(worker.started_at, SHORT_TIME)), el("td", null, timeEl(worker.last_heartbeat, CLOCK)),
      el("td", null, running), el("td", "num", worker.finished ?? "—"),
      el("td", null, kindsOf(worker)));
    row.dataset.worker = String(worker.name ?? "");
    return row;
  },
};

// --- schedules: GET /schedules when shown; a run queued (or a page changed) moves its row --

const schedulesView = {
  seq: 0, timer: null, schedules: [],

  // A run of a schedule was queued: its next runs, count and last run moved (one read for a burst).
  // A run's page changed: its last change is that run, now.
  onActivity(type, record, ts) {
    if (typeof record.schedule !== "string") return;
    const schedule = this.schedules.find((s) => s.id === record.schedule);
    if (type === "changed" && schedule) {
      const url = record.change && typeof record.change === "object" ? record.change.url : null;
      schedule.last_change = { job: record.id, url, at: new Date(ts).toISOString() };
      if (currentView() === "schedules") this.render();
      return;
    }
    if (type !== "queued" || currentView() !== "schedules") return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 300);
  },

  async load() {
    const loaded = await newestAnswer(this, "/schedules?limit=100", "schedules-error");
    if (!loaded) return;
    const { answer } = loaded;
    this.schedules = (answer && Array.isArray(answer.schedules)) ? answer.schedules : [];
    this.render();
  },

  render() {
    $("schedules-body").replaceChildren(...this.schedules.map((schedule) => this.row(schedule)));
    $("schedules-empty").hidden = this.schedules.length > 0;
  },

  cadence(schedule) {
    if (Number.isFinite(schedule.every_s)) {
      const [unit, size] = [["d", 86_400], ["h", 3600], ["min", 60], ["s", 1]]
        .find(([, size]) => schedule.every_s >= size && schedule.every_s % size === 0) ?? ["s", 1];
      return `every ${schedule.every_s / size} ${unit}`;
    }
    const zone = schedule.timezone && schedule.timezone !== "UTC" ? ` (${schedule.timezone})` : "";
    return `cron ${schedule.cron ?? "?"}${zone}`;
  },

  row(schedule) {
    const job = schedule.job && typeof schedule.job === "object" ? schedule.job : {};
    const next = Array.isArray(schedule.next_runs) && schedule.next_runs.length ? schedule.next_runs[0] : null;
    const lastRun = schedule.last_run && typeof schedule.last_run.job === "string"
      ? el("span", null, jobLink(schedule.last_run.job), " ", timeEl(schedule.last_run.scheduled_for, SHORT_TIME))
      : "—";
    const change = schedule.last_change && typeof schedule.last_change.job === "string"
      ? el("span", null, jobLink(schedule.last_change.job), " ", timeEl(schedule.last_change.at, SHORT_TIME))
      : "—";
    const action = schedule.paused ? "Resume" : "Pause";
    const toggle = button(action, "quiet", () => this.toggle(schedule, toggle), `${action} schedule ${schedule.id}`);
    const row = el("tr", null, el("td", "mono", String(schedule.id ?? "?").slice(0, 9)),
      el("td", null, `${job.type ?? "scrape"} `, el("span", "hint", subjectOf(job))),
      el("td", null, this.cadence(schedule)), el("td", null, schedule.paused ? "paused" : "active"),
      el("td", null, schedule.paused ? "—" : timeEl(next, SHORT_TIME)), el("td", "num", schedule.runs ?? 0),
      el("td", null, lastRun), el("td", null, change), el("td", null, toggle));
    row.dataset.schedule = String(schedule.id ?? "");
    return row;
  },

  async toggle(schedule, control) {
    control.disabled = true;
    try {
      const changed = await api(`/schedules/${encodeURIComponent(schedule.id)}`,
        { method: "PATCH", body: { paused: !schedule.paused } });
      this.schedules = this.schedules.map((s) => (s.id === changed.id ? changed : s));
      $("schedules-error").hidden = true;
      this.render();
    } catch (error) {
      control.disabled = false;
      $("schedules-error").hidden = false;
      $("schedules-error").textContent = error.message;
    }
  },
};

// --- failures: grouped by code; retry one, selected or all, delete ------------------------

const failures = {
  records: new Map(), selected: new Set(), loading: false, pending: [],

  async load() {
    this.loading = true;
    this.pending = [];
    const found = new Map();
    let cursor = null;
    try {
      for (let page = 0; page < 10; page++) {  // up to 1,000: the rest after a bulk retry or delete
        const params = new URLSearchParams({ status: "failed", limit: "100" });
        if (cursor) params.set("cursor", cursor);
        const answer = await api(`/jobs?${params}`);
        for (const job of answer.jobs || []) found.set(job.id, job);
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
    } catch (error) {
      this.showError(error);
    }
    this.records = found;
    this.loading = false;
    const pending = this.pending;
    this.pending = [];
    for (const [type, job] of pending) this.onRecord(type, job);
    this.render();
  },

  onRecord(type, job) {
    if (this.loading) { this.pending.push([type, job]); return; }
    if (type === "failed") this.records.set(job.id, job);
    else if (!this.records.delete(job.id)) return;
    if (type !== "failed") this.selected.delete(job.id);
    this.render();
  },

  forget(ids) {
    for (const id of ids) { this.records.delete(id); this.selected.delete(id); }
    this.render();
  },

  showError(error) {
    $("failures-error").hidden = false;
    $("failures-error").textContent = error.message;
  },

  render() {
    const count = this.records.size;
    $("failures-count").textContent = count ? String(count) : "";
    $("retry-all").disabled = count === 0;
    for (const id of [...this.selected]) if (!this.records.has(id)) this.selected.delete(id);
    $("retry-selected").disabled = $("delete-selected").disabled = this.selected.size === 0;
    $("failures-empty").hidden = count > 0;
    if (currentView() !== "failures") return;
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focusKey : null;
    const groups = new Map();
    for (const job of this.records.values()) {
      const code = (job.error && job.error.code) || "unknown";
      if (!groups.has(code)) groups.set(code, []);
      groups.get(code).push(job);
    }
    const ordered = [...groups.entries()].sort(([, a], [, b]) => b.length - a.length);
    $("failure-groups").replaceChildren(...ordered.map(([code, jobs]) => this.group(code, jobs)));
    if (focusedId) document.querySelector(`[data-focus-key="${CSS.escape(focusedId)}"]`)?.focus();
  },

  group(code, jobs) {
    jobs.sort((a, b) => (millis(b.finished_at) ?? 0) - (millis(a.finished_at) ?? 0));
    const all = el("input");
    all.type = "checkbox";
    all.checked = jobs.every((job) => this.selected.has(job.id));
    all.setAttribute("aria-label", `Select every ${code} failure`);
    all.dataset.focusKey = `all:${code}`;
    all.addEventListener("change", () => {
      for (const job of jobs) if (all.checked) this.selected.add(job.id); else this.selected.delete(job.id);
      this.render();
    });
    const rows = jobs.map((job) => this.row(job));
    const head = headRow(["", "Job", "URL", "Message", "Attempts", "Last attempt", ""]);
    head.firstElementChild.replaceChildren(all);
    const section = el("section", "group", el("h3", null, el("code", null, code), ` — ${jobs.length} job${jobs.length === 1 ? "" : "s"}`),
      el("div", "scroll", el("table", "failures", el("thead", null, head), el("tbody", null, ...rows))));
    section.dataset.code = code;
    return section;
  },

  row(job) {
    const pick = el("input");
    pick.type = "checkbox";
    pick.checked = this.selected.has(job.id);
    pick.setAttribute("aria-label", `Select job ${job.id}`);
    pick.dataset.focusKey = `pick:${job.id}`;
    pick.addEventListener("change", () => {
      if (pick.checked) this.selected.add(job.id); else this.selected.delete(job.id);
      this.render();
    });
    const retryOne = button("Retry", "small", () => this.retry([job.id]), `Retry job ${job.id}`);
    const deleteOne = button("Delete", "small quiet", () => this.remove([job.id]), `Delete job ${job.id}`);
    const subject = subjectOf(job);
    const what = el("td", "subject", subject || "—");
    what.title = subject;
    const row = el("tr", null, el("td", null, pick), el("td", null, jobLink(job.id)), what,
      el("td", "message", (job.error && job.error.message) || ""), el("td", "num", job.attempt ?? "—"),
      el("td", null, timeEl(job.finished_at, SHORT_TIME)), el("td", "actions", retryOne, " ", deleteOne));
    row.dataset.id = job.id;
    return row;
  },

  async retry(ids) {
    // Without ids: every failed job (`scrapestream retry --failed`), not only the ones this page read.
    const body = ids ? { status: "failed", ids } : { status: "failed" };
    await this.act("/jobs/retry", body, "retried", "Retried");
  },

  async remove(ids) {
    await this.act("/jobs/delete", { ids }, "deleted", "Deleted");
  },

  async act(path, body, field, verb) {
    $("failures-error").hidden = true;
    let answer;
    try {
      answer = await api(path, { method: "POST", body });
    } catch (error) {
      this.showError(error);
      return;
    }
    const done = ((answer && answer[field]) || []).map((item) => (typeof item === "string" ? item : item && item.id));
    $("failures-status").textContent = `${verb} ${done.length} job${done.length === 1 ? "" : "s"}.`;
    // A retried job leaves this view with its `queued` event, and comes back with its next `failed`,
    // which may well arrive before this answer does. A deleted job has no event: it goes now.
    if (field === "deleted") {
      this.forget(done);
      for (const id of done) { jobList.rowOf(id)?.remove(); jobList.records.delete(id); }
      jobList.after();
      if (done.includes(detail.id)) location.hash = "#failures";
    }
  },
};

$("retry-selected").addEventListener("click", () => failures.retry([...failures.selected]));
$("delete-selected").addEventListener("click", () => failures.remove([...failures.selected]));
$("retry-all").addEventListener("click", () => failures.retry(null));

// --- history: /queue/history once, then the stream's events move the current minute ------

const historyView = {
  points: [], loaded: false, seq: 0,

  async load() {
    const loaded = await newestAnswer(this, `/queue/history?minutes=${HISTORY_MINUTES}`, "history-error");
    if (!loaded) return;
    const { answer } = loaded;
    const list = Array.isArray(answer) ? answer : (answer && (answer.minutes || answer.history || answer.points)) || [];
    this.points = list.map((point) => ({
      t: timeOf(point.minute ?? point.at ?? point.start ?? point.ts ?? point.t),
      submitted: Number(point.submitted) || 0, completed: Number(point.completed) || 0,
      failed: Number(point.failed) || 0, depth: point.depth ?? point.queue_depth ?? null,
    })).filter((point) => point.t !== null).sort((a, b) => a.t - b.t);
    // A minute nobody read the queue in has no sample: the depth seen before it still holds.
    let depth = 0;
    for (const point of this.points) depth = point.depth = Number.isFinite(Number(point.depth ?? NaN)) ? Number(point.depth) : depth;
    this.loaded = true;
    this.advance(Date.now());
    this.render();
  },

  // Minutes with no point yet get one; those older than the window go.
  advance(now) {
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const last = this.points.length ? this.points[this.points.length - 1] : null;
    for (let t = last ? last.t + MINUTE_MS : minute - (HISTORY_MINUTES - 1) * MINUTE_MS; t <= minute; t += MINUTE_MS) {
      this.points.push({ t, submitted: 0, completed: 0, failed: 0, depth: last ? last.depth : 0 });
    }
    const oldest = minute - (HISTORY_MINUTES - 1) * MINUTE_MS;
    this.points = this.points.filter((point) => point.t >= oldest);
    return this.points[this.points.length - 1];
  },

  onLifecycle(type, job, ts) {
    if (!this.loaded) return;
    const now = this.advance(ts);
    const created = millis(job.created_at);
    // A re-run is queued again: only a job created just now counts as submitted.
    if (type === "queued" && created !== null && Math.abs(ts - created) < 5000) now.submitted += 1;
    if (type === "completed") now.completed += 1;
    if (type === "failed") now.failed += 1;
    if (currentView() === "history") this.render();
  },

  depthNow(depth) {
    if (!this.loaded || !Number.isFinite(depth)) return;
    this.advance(Date.now()).depth = depth;
    if (currentView() === "history") this.render();
  },

  render() {
    if (!this.loaded) return;
    $("charts").replaceChildren(
      chart("Submitted", this.points, "submitted", "bars c-submitted"),
      chart("Completed", this.points, "completed", "bars c-completed"),
      chart("Failed", this.points, "failed", "bars c-failed"),
      chart("Queue depth", this.points, "depth", "line c-depth"),
    );
  },
};

function timeOf(value) {
  if (typeof value === "number") return value < 1e11 ? value * 1000 : value;  // seconds or milliseconds
  return millis(value);
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

const CHART_W = 600;
const CHART_H = 90;

// One small chart, drawn with DOM calls: a bar a minute (or a line for the depth), its peak and total in words.
function chart(title, points, key, className) {
  const values = points.map((point) => point[key]);
  const peak = Math.max(0, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const scale = (value) => (peak ? (value / peak) * (CHART_H - 4) : 0);
  const step = CHART_W / Math.max(points.length, 1);
  const summary = key === "depth"
    ? `${title}: now ${values.length ? values[values.length - 1] : 0}, peak ${peak}`
    : `${title}: ${total} in the last hour, peak ${peak} a minute`;
  const shapes = [svg("line", { x1: 0, y1: CHART_H - 0.5, x2: CHART_W, y2: CHART_H - 0.5, class: "axis" })];
  const label = (point) => `${new Date(point.t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}: ${point[key]}`;
  if (className.startsWith("bars")) {
    points.forEach((point, i) => {
      const h = scale(point[key]);
      shapes.push(svg("rect", { x: (i * step + 1).toFixed(1), y: (CHART_H - h).toFixed(1), width: Math.max(step - 2, 1).toFixed(1),
        height: Math.max(h, point[key] ? 1 : 0).toFixed(1) }, svg("title", {}, label(point))));
    });
  } else if (points.length) {
    const xy = points.map((point, i) => `${(i * step + step / 2).toFixed(1)},${(CHART_H - scale(point[key])).toFixed(1)}`);
    shapes.push(svg("polyline", { points: xy.join(" ") }));
    // Invisible columns carry each minute's figure as a tooltip; a stretched circle would be an ellipse.
    points.forEach((point, i) => shapes.push(svg("rect", { x: (i * step).toFixed(1), y: 0, width: step.toFixed(1),
      height: CHART_H, class: "hover" }, svg("title", {}, label(point)))));
  }
  const picture = svg("svg", { viewBox: `0 0 ${CHART_W} ${CHART_H}`, role: "img", "aria-label": summary, class: className,
    preserveAspectRatio: "none" }, svg("title", {}, summary), ...shapes);
  const figure = el("figure", "chart", el("figcaption", null, el("strong", null, title), " ",
    el("span", "hint", key === "depth" ? `now ${values.length ? values[values.length - 1] : 0} · peak ${peak}` : `${total} in the hour · peak ${peak}/min`)),
  picture, el("div", "axis-labels hint", el("span", null, `${HISTORY_MINUTES} min ago`), el("span", null, "now")));
  figure.dataset.chart = key;
  return figure;
}

// --- start ----------------------------------------------------------------------------

showFields();
showKeyState();
renderTiles();
showView();
start();
