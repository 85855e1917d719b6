// The Scrapestream dashboard. Everything the API returns may come from a hostile page
// (titles, URLs, messages), so the DOM is built with createElement and textContent only.
// The page's CSP also enforces Trusted Types: an innerHTML assignment would throw.
"use strict";

const KEY_STORAGE = "scrapestream.apiKey";
const STATUSES = ["queued", "scheduled", "running", "retrying", "completed", "failed", "cancelled"];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const EVENT_TYPES = ["queued", "started", "progress", "retrying", "page", "completed", "failed", "cancelled",
  "resync"];
const RECORD_FIELDS = ["status", "phase", "percent", "attempt", "started_at", "finished_at", "error"];
const LOG_MAX = 500;  // a 10,000-page crawl must not grow the page without bound
const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

function badge(status) {
  // The class is chosen from a fixed list, never built from what the server sent.
  return el("span", STATUSES.includes(status) ? `badge s-${status}` : "badge", status ?? "?");
}

const LONG_TIME = { dateStyle: "short", timeStyle: "medium" };
const SHORT_TIME = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" };

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

function percentOf(value) {
  const n = Number(value);
  return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
}

// --- the API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
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
  const response = await fetch(pathOf(path), {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (response.status === 401) askForKey(data && data.error ? data.error.message : "");
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
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
  refreshAll();
});

$("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyState();
  refreshAll();
});

// --- service stats ------------------------------------------------------------------

function stat(name, value, note) {
  return el("div", null, el("dt", null, name), el("dd", null, value ?? "—", note ? el("small", null, note) : null));
}

async function refreshStats() {
  const tiles = [];
  try {
    const health = await api("/health");
    tiles.push(stat("Redis", health.redis), stat("Workers", health.workers));
  } catch (error) {
    // 503: the web process is up but Redis is not; no status: the web process did not answer.
    tiles.push(stat("Redis", error.status === 503 ? "unreachable" : error.status ? `error ${error.status}` : "no answer"));
  }
  try {
    const queue = await api("/queue");
    const byPriority = Object.entries((queue.queued && queue.queued.by_priority) || {})
      .filter(([, n]) => n > 0).sort(([a], [b]) => b - a).map(([p, n]) => `p${p}: ${n}`).join(" · ");
    tiles.push(stat("Queued", queue.queued && queue.queued.total, byPriority || null));
    for (const name of ["scheduled", "running", "completed", "failed", "cancelled"]) {
      tiles.push(stat(name[0].toUpperCase() + name.slice(1), queue[name]));
    }
  } catch { /* /health alone still says whether the service is up */ }
  $("stats").replaceChildren(...tiles);
}

// --- the job list ---------------------------------------------------------------------

const list = { status: "", cursor: null, extended: false, seq: 0 };

function jobRow(job) {
  const open = el("button", "link", String(job.id).slice(0, 8));
  open.type = "button";
  open.dataset.id = job.id;
  open.setAttribute("aria-label", `Open job ${job.id}`);
  open.addEventListener("click", () => openJob(job.id));
  const percent = percentOf(job.percent);
  const bar = el("progress");
  bar.max = 100;
  bar.value = percent;
  bar.setAttribute("aria-label", `${percent} %`);
  const row = el("tr", job.id === detail.id ? "selected" : null,
    el("td", null, open), el("td", null, job.type), el("td", null, badge(job.status)),
    el("td", null, bar, ` ${percent} %`), el("td", null, timeEl(job.created_at, SHORT_TIME)));
  row.dataset.id = job.id;
  return row;
}

async function loadJobs({ more = false } = {}) {
  const seq = ++list.seq;  // a slower, older answer must not overwrite a newer one
  const params = new URLSearchParams({ limit: "20" });
  if (list.status) params.set("status", list.status);
  if (more && list.cursor) params.set("cursor", list.cursor);
  let page;
  try {
    page = await api(`/jobs?${params}`);
  } catch (error) {
    if (seq !== list.seq) return;
    $("jobs-error").hidden = false;
    $("jobs-error").textContent = error.status === 401 ? "An API key is needed to list jobs." : error.message;
    return;
  }
  if (seq !== list.seq) return;
  $("jobs-error").hidden = true;
  const body = $("jobs-body");
  const focused = document.activeElement && body.contains(document.activeElement)
    ? document.activeElement.dataset.id : null;
  const rows = (page.jobs || []).map(jobRow);
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  list.extended = more;
  list.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  $("jobs-empty").hidden = body.children.length > 0;
  // A refresh replaces the rows; keep keyboard focus where it was.
  if (focused) {
    const again = [...body.querySelectorAll("button[data-id]")].find((b) => b.dataset.id === focused);
    if (again) again.focus();
  }
}

$("status-filter").addEventListener("change", (event) => { list.status = event.target.value; loadJobs(); });
$("refresh").addEventListener("click", () => refreshAll());
$("more").addEventListener("click", () => loadJobs({ more: true }));

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
  const button = $("submit-button");
  button.disabled = true;
  try {
    const job = await api("/jobs", { method: "POST", body: buildBody() });
    $("submit-status").textContent = `Submitted ${job.type} job ${job.id}.`;
    loadJobs();
    openJob(job.id);
  } catch (error) {
    showSubmitError(error);
  } finally {
    button.disabled = false;
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
  const rows = [["Status", badge(r.status)], ["Type", r.type], ["Phase", r.phase || "—"],
    ["Attempt", r.attempt ?? "—"], ["Created", timeEl(r.created_at)], ["Started", timeEl(r.started_at)],
    ["Finished", timeEl(r.finished_at)]];
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
  let data = {};
  try { data = JSON.parse(message.data) || {}; } catch { /* shown as an empty event */ }
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
  const source = new EventSource(url);
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
  // A job re-run since has more events after this terminal one: keep following.
  const url = new URL(detail.record.links.events, location.href);
  url.searchParams.set("format", "json");
  if (detail.lastEventId) url.searchParams.set("last_event_id", detail.lastEventId);
  try {
    const later = detail.lastEventId ? await api(url.href) : [];
    if (gen !== detail.gen) return;
    if (later.length) { follow(gen); return; }
    detail.record = await api(`/jobs/${encodeURIComponent(detail.id)}`);
  } catch (error) {
    if (gen === detail.gen) showDetailError(error);
    return;
  }
  if (gen !== detail.gen) return;
  renderRecord();
  if (detail.record.status === "completed") loadResult(gen, detail.record.links.result, false);
  loadJobs();
  refreshStats();
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

function resultTable(pages) {
  const rows = pages.map((p) => el("tr", null, el("td", null, urlEl(p.url)), el("td", null, p.status ?? ""),
    el("td", null, p.error ? el("span", "error", `${p.error.code}: ${p.error.message ?? ""}`) : p.title ?? "")));
  const head = el("tr", null, ...["URL", "Status", "Title"].map((name) => {
    const th = el("th", null, name);
    th.scope = "col";
    return th;
  }));
  return el("div", "scroll", el("table", null, el("thead", null, head), el("tbody", null, ...rows)));
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
    if (data.next) {
      const more = el("button", "more-pages", "More pages");
      more.type = "button";
      more.addEventListener("click", () => loadResult(gen, data.next, true));
      box.append(more);
    }
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
  loadJobs();
});

$("close-detail").addEventListener("click", () => {
  closeStream();
  detail.gen++;
  detail.id = null;
  $("detail").hidden = true;
  for (const row of $("jobs-body").children) row.classList.remove("selected");
});

// --- start ----------------------------------------------------------------------------

function refreshAll() {
  refreshStats();
  loadJobs();
}

showFields();
showKeyState();
refreshAll();
setInterval(() => {
  if (document.hidden) return;
  refreshStats();
  if (!list.extended) loadJobs();  // leave a list the operator paged through alone
}, REFRESH_MS);
