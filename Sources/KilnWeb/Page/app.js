// Kiln's job monitor: one dependency-free ES module. It speaks kiln.v1 in proto3 JSON
// through kilnd's HTTP face (POST /api/<Service>/<Method>; the watches as Server-Sent
// Events) and never puts a server string into innerHTML: every text goes in textContent.

const STATUSES = ["PENDING", "RUNNING", "PAUSED", "ERROR", "DISCARDED", "FINISHED"];
const ACTIONS = ["RESUME", "RESTART", "PAUSE", "DISCARD", "DELETE"];
// The operation table (shared/DESIGN.md); the server is the authority, Job.allowedActions wins.
const ALLOWED = {
  PENDING: ["PAUSE", "DISCARD"],
  RUNNING: ["PAUSE", "RESTART", "DISCARD"],
  PAUSED: ["RESUME", "RESTART", "DISCARD"],
  ERROR: ["RESUME", "RESTART", "DISCARD"],
  FINISHED: ["DELETE"],
  DISCARDED: ["DELETE"],
};
const ACTION_LABEL = { PAUSE: "Pause", RESUME: "Resume", RESTART: "Restart", DISCARD: "Discard", DELETE: "Delete" };
const ACTION_METHOD = { PAUSE: "PauseJob", RESUME: "ResumeJob", RESTART: "RestartJob", DISCARD: "DiscardJob", DELETE: "DeleteJob" };
const ACTION_PAST = { PAUSE: "Paused", RESUME: "Resumed", RESTART: "Restarted", DISCARD: "Discarded", DELETE: "Deleted" };
const CONFIRMED = new Set(["DISCARD", "DELETE"]);
const JOBS = "kiln.v1.JobService";
const REQUEST_TIMEOUT_MS = 30000;
const RETRY_AFTER_MS = 8000;

const $ = (id) => document.getElementById(id);

const state = {
  session: null,        // {whoAmI, csrfToken}
  projects: [],
  jobTypes: [],
  filter: {},           // the JobFilter of the list and the watch
  order: { field: "JOB_ORDER_FIELD_CREATE_TIME", ascending: false },
  pageSize: 20,
  pageToken: "",
  tokenStack: [],       // the tokens of the pages before this one
  nextPageToken: "",
  total: 0,
  jobs: [],             // the rows, in order
  revision: null,       // BigInt: the revision the rows are consistent at
  selected: new Set(),
  newJobs: 0,
  watch: null,          // the EventSource of WatchJobs
  watchGeneration: 0,
  reconnectTimer: null,
  detailId: null,
  detailJob: null,
  log: null,            // {jobId, stepId, offset, source, decoder, generation}
  openMenu: null,
};

// ---------------------------------------------------------------- HTTP

class ApiError extends Error {
  constructor(httpStatus, body) {
    const status = (body && body.status) || `HTTP ${httpStatus}`;
    super((body && body.message) || status);
    this.httpStatus = httpStatus;
    this.status = status;
    this.code = body && body.code;
    this.details = (body && body.details) || {};
  }
}

async function request(path, method, body) {
  // A mutation carries a request id, so a retry after a lost or stalled answer never acts
  // twice (the server returns the first answer): one retry, after a shorter wait.
  const retryable = !!(body && body.requestId);
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestOnce(path, method, body, retryable && attempt === 1 ? RETRY_AFTER_MS : REQUEST_TIMEOUT_MS);
    } catch (error) {
      if (!(retryable && attempt === 1 && error.status === "DEADLINE_EXCEEDED")) throw error;
      console.warn(`no answer to ${path} within ${RETRY_AFTER_MS / 1000} s: retrying with the same request id`);
    }
  }
}

async function requestOnce(path, method, body, timeoutMs) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.session) headers["X-Kiln-CSRF"] = state.session.csrfToken;
  let response;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", signal: abort.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    clearTimeout(timer);
    if (abort.signal.aborted) throw new ApiError(0, { status: "DEADLINE_EXCEEDED", message: `no answer within ${timeoutMs / 1000} s` });
    throw new ApiError(0, { status: "UNAVAILABLE", message: `the server cannot be reached (${error.message})` });
  }
  clearTimeout(timer);
  const text = await response.text();
  let json = {};
  if (text) {
    try { json = JSON.parse(text); } catch { json = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

async function call(method, body = {}) {
  try {
    return await request(`/api/${method}`, "POST", body);
  } catch (error) {
    if (error.httpStatus === 401) signedOut("Your session ended: sign in again.");
    throw error;
  }
}

function requestId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

// ---------------------------------------------------------------- messages

function showError(error, context) {
  const message = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error && error.message || error);
  $("alert-text").textContent = context ? `${context}: ${message}` : message;
  $("alert").hidden = false;
}

function clearError() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
}

let noticeTimer = null;
function notice(text) {
  const element = $("notice");
  element.textContent = text;
  element.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { element.hidden = true; }, 8000);
}

function setBanner(visible) {
  $("banner").hidden = !visible;
}

// ---------------------------------------------------------------- formatting

const short = (status) => (status || "").replace(/^JOB_STATUS_/, "") || "UNSPECIFIED";
const shortAction = (action) => (action || "").replace(/^JOB_ACTION_/, "");

function formatTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function seconds(duration) {
  if (!duration) return 0;
  const number = parseFloat(String(duration).replace(/s$/, ""));
  return Number.isFinite(number) ? number : 0;
}

function formatDuration(duration) {
  if (duration === undefined || duration === null || duration === "") return "—";
  let total = seconds(duration);
  if (total < 60) return `${total.toFixed(total < 10 ? 1 : 0)} s`;
  total = Math.round(total);
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return h ? `${h} h ${m} min` : `${m} min ${s} s`;
}

function revisionOf(value) {
  try { return BigInt(value || 0); } catch { return 0n; }
}

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

function statusBadge(status) {
  const name = short(status);
  return el("span", { class: `status status-${name.toLowerCase()}`, "data-testid": "status", text: name });
}

function progressBar(progress, label) {
  const value = Math.max(0, Math.min(100, Number(progress) || 0));
  const bar = el("div", {
    class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": value,
    "aria-label": label, "data-testid": "progress",
  }, el("div", { class: "progress-fill" }), el("span", { class: "progress-text", text: `${value}%` }));
  bar.firstChild.style.width = `${value}%`; // CSSOM, allowed by a style-src 'self' policy (a style attribute is not)
  return bar;
}

// ---------------------------------------------------------------- roles

function user() { return state.session && state.session.whoAmI && state.session.whoAmI.user || {}; }
function isAdmin() {
  const whoAmI = state.session && state.session.whoAmI;
  return !!(user().admin || (whoAmI && whoAmI.authenticationEnabled === false));
}
function roleIn(project) {
  if (isAdmin()) return "ADMIN";
  const binding = (user().roles || []).find((role) => role.project === project);
  return binding ? binding.role : null;
}
function canOperate(project) { const role = roleIn(project); return role === "ADMIN" || role === "ROLE_OPERATOR"; }
function canOperateAny() {
  if (isAdmin()) return true;
  const shown = state.filter.projects && state.filter.projects.length ? state.filter.projects : (user().roles || []).map((r) => r.project);
  return shown.some(canOperate);
}

function allowedActions(job) {
  if (job.allowedActions && job.allowedActions.length) return job.allowedActions.map(shortAction);
  return ALLOWED[short(job.status)] || [];
}

function severalProjectsShown() { return !(state.filter.projects && state.filter.projects.length === 1); }

// ---------------------------------------------------------------- session

async function start() {
  wireUp();
  try {
    state.session = await request("/api/session", "GET");
  } catch (error) {
    if (error.httpStatus !== 401) showError(error, "Reading the session");
    showLogin();
    return;
  }
  await enterMonitor();
}

function showLogin() {
  stopWatch();
  closeDetail();
  state.session = null;
  $("monitor").hidden = true;
  $("whoami").hidden = true;
  $("login").hidden = false;
  $("login-token").focus();
}

function signedOut(message) {
  if (!state.session) return;
  showLogin();
  showError(message);
}

async function login(event) {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) return;
  clearError();
  try {
    state.session = await request("/api/session", "POST", { token });
  } catch (error) {
    showError(error, "Signing in");
    return;
  }
  $("login-token").value = "";
  await enterMonitor();
}

async function logout() {
  try {
    await request("/api/session", "DELETE");
  } catch (error) {
    if (error.httpStatus !== 401) { showError(error, "Signing out"); return; }
  }
  showLogin();
  notice("Signed out.");
}

async function enterMonitor() {
  $("login").hidden = true;
  $("monitor").hidden = false;
  const u = user();
  $("whoami").hidden = false;
  $("whoami-name").textContent = u.name || "anonymous";
  $("whoami-roles").textContent = isAdmin() ? "ADMIN" :
    (u.roles || []).map((r) => `${r.project}: ${(r.role || "").replace(/^ROLE_/, "")}`).join(", ") || "no roles";
  try {
    const [projects, types] = await Promise.all([
      call("kiln.v1.ProjectService/ListProjects", {}),
      call(`${JOBS}/ListJobTypes`, {}),
    ]);
    state.projects = (projects.projects || []).map((p) => p.name);
    state.jobTypes = (types.jobTypes || []).map((t) => t.name);
  } catch (error) {
    if (!state.session) return;
    showError(error, "Reading projects and job types");
  }
  fillSelectors();
  readFilterForm();
  await reload();
}

function fillSelectors() {
  const project = $("f-project");
  project.replaceChildren();
  if (isAdmin() || state.projects.length !== 1) {
    project.append(el("option", { value: "", text: isAdmin() ? "All projects" : "All my projects" }));
  }
  for (const name of state.projects) project.append(el("option", { value: name, text: name }));
  const type = $("f-type");
  type.replaceChildren(el("option", { value: "", text: "Any type" }));
  for (const name of state.jobTypes) type.append(el("option", { value: name, text: name }));
  const checks = $("f-statuses");
  if (!checks.childElementCount) {
    for (const status of STATUSES) {
      const id = `f-status-${status}`;
      checks.append(el("span", { class: "check" },
        el("input", { type: "checkbox", id, value: status, "data-testid": `filter-status-${status}` }),
        el("label", { for: id, text: status.charAt(0) + status.slice(1).toLowerCase() })));
    }
  }
}

// ---------------------------------------------------------------- filters, order, pages

function readFilterForm() {
  const filter = {};
  const project = $("f-project").value;
  if (project) filter.projects = [project];
  const statuses = [...document.querySelectorAll("#f-statuses input:checked")].map((box) => `JOB_STATUS_${box.value}`);
  if (statuses.length) filter.statuses = statuses;
  const type = $("f-type").value;
  if (type) filter.jobTypes = [type];
  const subject = $("f-subject").value.trim();
  if (subject) filter.subject = subject;
  const key = $("f-key").value.trim();
  if (key) filter.key = key;
  const from = $("f-from").value, to = $("f-to").value;
  if (from) filter.createTimeFrom = new Date(from).toISOString();
  if (to) filter.createTimeTo = new Date(to).toISOString();
  state.filter = filter;
}

function firstPage() {
  state.pageToken = "";
  state.tokenStack = [];
  state.selected.clear();
}

async function applyFilters(event) {
  if (event) event.preventDefault();
  readFilterForm();
  firstPage();
  await reload();
}

// Reads the current page, then watches from the revision it is consistent at.
async function reload() {
  stopWatch();
  clearError();
  let response;
  try {
    response = await call(`${JOBS}/ListJobs`, {
      filter: state.filter, orderBy: state.order, pageSize: state.pageSize, pageToken: state.pageToken,
    });
  } catch (error) {
    if (state.session) showError(error, "Listing jobs");
    return;
  }
  state.jobs = response.jobs || [];
  state.nextPageToken = response.nextPageToken || "";
  state.total = Number(response.totalSize || 0);
  state.revision = response.revision !== undefined ? revisionOf(response.revision) : null;
  state.newJobs = 0;
  const ids = new Set(state.jobs.map((job) => job.id));
  for (const id of [...state.selected]) if (!ids.has(id)) state.selected.delete(id);
  render();
  // Test hooks: which list the table shows, and how many lists it has loaded.
  const monitor = $("monitor");
  monitor.dataset.project = (state.filter.projects || [""])[0];
  monitor.dataset.loads = String(Number(monitor.dataset.loads || 0) + 1);
  startWatch();
}

async function nextPage() {
  if (!state.nextPageToken) return;
  state.tokenStack.push(state.pageToken);
  state.pageToken = state.nextPageToken;
  state.selected.clear();
  await reload();
}

async function previousPage() {
  if (!state.tokenStack.length) return;
  state.pageToken = state.tokenStack.pop();
  state.selected.clear();
  await reload();
}

async function sortBy(field) {
  if (state.order.field === field) state.order = { field, ascending: !state.order.ascending };
  else state.order = { field, ascending: false };
  firstPage();
  await reload();
}

// ---------------------------------------------------------------- the table

const COLUMNS = [
  { key: "select" },
  { key: "id", label: "Job" },
  { key: "type", label: "Type", order: "JOB_ORDER_FIELD_JOB_TYPE" },
  { key: "subject", label: "Subject", order: "JOB_ORDER_FIELD_SUBJECT" },
  { key: "project", label: "Project", order: "JOB_ORDER_FIELD_PROJECT" },
  { key: "status", label: "Status", order: "JOB_ORDER_FIELD_STATUS" },
  { key: "progress", label: "Progress" },
  { key: "created", label: "Created", order: "JOB_ORDER_FIELD_CREATE_TIME" },
  { key: "duration", label: "Duration", order: "JOB_ORDER_FIELD_DURATION" },
  { key: "actions", label: "Actions" },
];

function visibleColumns() {
  const operate = canOperateAny();
  return COLUMNS.filter((column) =>
    !(column.key === "project" && !severalProjectsShown()) && !((column.key === "select" || column.key === "actions") && !operate));
}

function renderHead() {
  const row = $("head-row");
  row.replaceChildren();
  for (const column of visibleColumns()) {
    if (column.key === "select") {
      const selectable = state.jobs.filter((job) => canOperate(job.project));
      const all = selectable.length > 0 && selectable.every((job) => state.selected.has(job.id));
      const box = el("input", {
        type: "checkbox", "aria-label": "Select every job on this page", "data-testid": "select-all",
        onchange: (event) => {
          if (event.target.checked) selectable.forEach((job) => state.selected.add(job.id));
          else state.selected.clear();
          render();
        },
      });
      box.checked = all;
      box.indeterminate = !all && state.selected.size > 0;
      row.append(el("th", { scope: "col", class: "col-select" }, box));
      continue;
    }
    if (!column.order) { row.append(el("th", { scope: "col", class: `col-${column.key}`, text: column.label })); continue; }
    const active = state.order.field === column.order;
    const arrow = active ? (state.order.ascending ? " ▲" : " ▼") : "";
    row.append(el("th", {
      scope: "col", class: `col-${column.key}`,
      "aria-sort": active ? (state.order.ascending ? "ascending" : "descending") : "none",
    }, el("button", {
      type: "button", class: "sort", "data-testid": `sort-${column.key}`, text: column.label + arrow,
      "aria-label": `Sort by ${column.label.toLowerCase()}`, onclick: () => sortBy(column.order),
    })));
  }
}

function renderRow(job) {
  const cells = [];
  for (const column of visibleColumns()) {
    switch (column.key) {
      case "select": {
        if (!canOperate(job.project)) { cells.push(el("td", { class: "col-select" })); break; }
        const box = el("input", {
          type: "checkbox", "aria-label": `Select job ${job.id}`, "data-testid": "row-select",
          onchange: (event) => {
            if (event.target.checked) state.selected.add(job.id); else state.selected.delete(job.id);
            renderHead();
            renderBatchBar();
          },
        });
        box.checked = state.selected.has(job.id);
        cells.push(el("td", { class: "col-select" }, box));
        break;
      }
      case "id":
        cells.push(el("td", { class: "col-id" }, el("button", {
          type: "button", class: "link mono", "data-testid": "job-open", title: job.id,
          "aria-label": `Show job ${job.id}`, text: job.id.slice(0, 8), onclick: () => openDetail(job.id),
        })));
        break;
      case "type": cells.push(el("td", { "data-testid": "cell-type", text: job.jobType || "" })); break;
      case "subject": cells.push(el("td", { "data-testid": "cell-subject", text: job.subject || "" })); break;
      case "project": cells.push(el("td", { "data-testid": "cell-project", text: job.project || "" })); break;
      case "status": {
        const cell = el("td", { "data-testid": "cell-status" }, statusBadge(job.status));
        if (job.statusReason) cell.append(el("span", { class: "reason", text: job.statusReason }));
        cells.push(cell);
        break;
      }
      case "progress": cells.push(el("td", {}, progressBar(job.progress, `Progress of job ${job.id}`))); break;
      case "created": cells.push(el("td", { class: "nowrap", text: formatTime(job.createTime) })); break;
      case "duration": cells.push(el("td", { class: "nowrap", "data-testid": "cell-duration", text: formatDuration(job.duration) })); break;
      case "actions": cells.push(el("td", { class: "col-actions" }, canOperate(job.project) ? actionMenu(job) : "")); break;
    }
  }
  return el("tr", {
    "data-testid": "job-row", "data-job-id": job.id, "data-status": short(job.status),
    class: state.selected.has(job.id) ? "selected" : null,
  }, ...cells);
}

function render() {
  closeMenu();
  renderHead();
  $("rows").replaceChildren(...state.jobs.map(renderRow));
  $("empty").hidden = state.jobs.length > 0;
  $("total").textContent = `${state.total} ${state.total === 1 ? "job" : "jobs"}`;
  $("page-number").textContent = `Page ${state.tokenStack.length + 1}`;
  $("prev").disabled = state.tokenStack.length === 0;
  $("next").disabled = !state.nextPageToken;
  renderNewJobs();
  renderBatchBar();
}

function renderNewJobs() {
  const hint = $("new-jobs");
  hint.hidden = state.newJobs === 0;
  hint.textContent = `${state.newJobs} new ${state.newJobs === 1 ? "job" : "jobs"} — refresh`;
}

// Replaces one row in place, keeping focus where it was.
function updateRow(job) {
  const index = state.jobs.findIndex((row) => row.id === job.id);
  if (index < 0) return;
  state.jobs[index] = job;
  const old = $("rows").querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
  if (!old) { render(); return; }
  const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  if (state.openMenu && state.openMenu.jobId === job.id) {
    // Progress alone keeps the open menu (its row is redrawn when it closes); a new
    // status changes what the menu offers, so it closes.
    if (short(job.status) === short(state.openMenu.status)) { state.openMenu.stale = true; return; }
    closeMenu();
  }
  const row = renderRow(job);
  old.replaceWith(row);
  if (focused) { const again = row.querySelector(`[data-testid="${focused}"]`); if (again) again.focus(); }
  renderBatchBar();
}

// ---------------------------------------------------------------- operations

function actionMenu(job) {
  const wrap = el("div", { class: "menu-wrap" });
  const menuId = `menu-${job.id}`;
  const toggle = el("button", {
    type: "button", class: "menu-button", "data-testid": "row-menu", "aria-haspopup": "menu", "aria-expanded": "false",
    "aria-controls": menuId, "aria-label": `Operations on job ${job.id}`, text: "Actions ▾",
  });
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    if (state.openMenu && state.openMenu.jobId === job.id) { closeMenu(); return; }
    openMenu(job, wrap, toggle, menuId);
  });
  wrap.append(toggle);
  return wrap;
}

function openMenu(job, wrap, toggle, menuId) {
  closeMenu();
  const actions = ACTIONS.filter((action) => allowedActions(job).includes(action));
  const menu = el("div", { class: "menu", role: "menu", id: menuId, "data-testid": "row-menu-items" });
  if (!actions.length) menu.append(el("span", { class: "menu-empty", text: "No operation applies" }));
  for (const action of actions) {
    menu.append(el("button", {
      type: "button", role: "menuitem", "data-testid": `action-${action.toLowerCase()}`, text: ACTION_LABEL[action],
      onclick: () => { closeMenu(); operate(job, action); },
    }));
  }
  menu.addEventListener("keydown", (event) => {
    const items = [...menu.querySelectorAll("[role=menuitem]")];
    const index = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && items.length) { event.preventDefault(); items[(index + 1) % items.length].focus(); }
    if (event.key === "ArrowUp" && items.length) { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
  });
  wrap.append(menu);
  toggle.setAttribute("aria-expanded", "true");
  state.openMenu = { jobId: job.id, status: job.status, menu, toggle };
  const first = menu.querySelector("[role=menuitem]");
  if (first) first.focus();
}

function closeMenu(returnFocus = false) {
  const open = state.openMenu;
  if (!open) return;
  state.openMenu = null;
  open.menu.remove();
  open.toggle.setAttribute("aria-expanded", "false");
  if (returnFocus) open.toggle.focus();
  if (open.stale) {
    const job = state.jobs.find((row) => row.id === open.jobId);
    if (job) updateRow(job);
  }
}

function confirmAction(title, text, okLabel) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  dialog.querySelector("[value=ok]").textContent = okLabel;
  dialog.returnValue = "";
  const opener = document.activeElement;
  dialog.showModal();
  dialog.querySelector("[value=cancel]").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      if (opener && opener.isConnected) opener.focus();
    }, { once: true });
  });
}

async function operate(job, action) {
  if (CONFIRMED.has(action)) {
    const ok = await confirmAction(`${ACTION_LABEL[action]} 1 job?`,
      `${ACTION_LABEL[action]} job ${job.id} (${job.jobType} on ${job.subject})? ` +
      (action === "DELETE" ? "Its record and logs are removed." : "A discarded job cannot run again."), `${ACTION_LABEL[action]} 1 job`);
    if (!ok) return;
  }
  clearError();
  try {
    const response = await call(`${JOBS}/${ACTION_METHOD[action]}`, { id: job.id, requestId: requestId() });
    if (action === "DELETE") removeRow(job.id);
    else if (response.job) applyJob(response.job);
    notice(`${ACTION_PAST[action]} job ${job.id.slice(0, 8)}.`);
  } catch (error) {
    showError(error, `${ACTION_LABEL[action]} job ${job.id}`);
  }
}

function selectedJobs() { return state.jobs.filter((job) => state.selected.has(job.id)); }

function renderBatchBar() {
  const bar = $("batch-bar");
  const jobs = selectedJobs();
  if (!jobs.length || !canOperateAny()) { bar.hidden = true; bar.dataset.actions = ""; $("batch-actions").replaceChildren(); return; }
  bar.hidden = false;
  $("batch-count").textContent = `${jobs.length} selected`;
  const actions = ACTIONS.filter((action) => jobs.every((job) => allowedActions(job).includes(action)));
  // Redrawn only when what it offers changes, so that a progress event never takes a button
  // away from under the pointer or the keyboard focus.
  const key = actions.join(",") || "none";
  if (bar.dataset.actions === key && $("batch-actions").childElementCount) return;
  bar.dataset.actions = key;
  const buttons = actions.map((action) => el("button", {
    type: "button", class: CONFIRMED.has(action) ? "danger" : null, "data-testid": `batch-${action.toLowerCase()}`,
    text: ACTION_LABEL[action], onclick: () => batch(action),
  }));
  if (!buttons.length) buttons.push(el("span", { class: "muted", "data-testid": "batch-none", text: "No operation applies to every selected job" }));
  $("batch-actions").replaceChildren(...buttons);
}

async function batch(action) {
  const jobs = selectedJobs();
  if (!jobs.length) return;
  const count = jobs.length;
  const noun = count === 1 ? "job" : "jobs";
  if (CONFIRMED.has(action)) {
    const ok = await confirmAction(`${ACTION_LABEL[action]} ${count} ${noun}?`,
      `${ACTION_LABEL[action]} the ${count} selected ${noun}? ` +
      (action === "DELETE" ? "Their records and logs are removed." : "Discarded jobs cannot run again."),
      `${ACTION_LABEL[action]} ${count} ${noun}`);
    if (!ok) return;
  }
  clearError();
  let response;
  const bar = $("batch-bar");
  bar.setAttribute("aria-busy", "true");
  for (const button of bar.querySelectorAll("#batch-actions button")) button.disabled = true;
  try {
    response = await call(`${JOBS}/BatchJobs`, {
      action: `JOB_ACTION_${action}`, ids: { ids: jobs.map((job) => job.id) }, requestId: requestId(),
    });
  } catch (error) {
    showError(error, `${ACTION_LABEL[action]} ${count} ${noun}`);
    return;
  } finally {
    bar.removeAttribute("aria-busy");
    for (const button of bar.querySelectorAll("#batch-actions button")) button.disabled = false;
  }
  const failures = [];
  for (const result of response.results || []) {
    if (result.ok) {
      state.selected.delete(result.id);
      if (action === "DELETE") removeRow(result.id);
      else if (result.job) applyJob(result.job);
    } else {
      failures.push(`${result.id.slice(0, 8)}: ${(result.error && result.error.message) || "refused"}`);
    }
  }
  render();
  const succeeded = Number(response.succeeded || 0);
  notice(`${ACTION_PAST[action]} ${succeeded} ${succeeded === 1 ? "job" : "jobs"}.`);
  if (failures.length) showError(`${failures.length} of ${count} refused — ${failures.join("; ")}`);
}

// ---------------------------------------------------------------- live updates

function applyJob(job) {
  const row = state.jobs.find((existing) => existing.id === job.id);
  if (row && revisionOf(job.revision) <= revisionOf(row.revision)) return;
  if (row) updateRow(job);
  if (state.detailId === job.id) renderDetail(job.steps && job.steps.length ? job : { ...job, steps: (state.detailJob || {}).steps });
}

function removeRow(id) {
  const index = state.jobs.findIndex((job) => job.id === id);
  if (index < 0) return;
  state.jobs.splice(index, 1);
  state.selected.delete(id);
  state.total = Math.max(0, state.total - 1);
  render();
}

function onWatchEvent(event) {
  const kind = (event.kind || "").replace(/^WATCH_EVENT_KIND_/, "");
  if (event.revision !== undefined) {
    const revision = revisionOf(event.revision);
    if (state.revision === null || revision > state.revision) state.revision = revision;
  }
  const job = event.job;
  if (!job) return; // SNAPSHOT_END, HEARTBEAT
  const known = state.jobs.some((row) => row.id === job.id);
  if (kind === "DELETED") {
    if (known) removeRow(job.id);
    if (state.detailId === job.id) renderDetail(job, "This job was deleted or no longer matches the filters.");
    return;
  }
  if (known) { applyJob(job); return; }
  if (kind !== "CREATED") return; // a change of a job on another page
  state.total += 1;
  const atTop = state.order.field === "JOB_ORDER_FIELD_CREATE_TIME" && !state.order.ascending && state.tokenStack.length === 0;
  if (atTop) {
    state.jobs.unshift(job); // the page grows until the next reload rather than lose a row
    render();
  } else {
    state.newJobs += 1;
    renderNewJobs();
    $("total").textContent = `${state.total} ${state.total === 1 ? "job" : "jobs"}`;
  }
}

function stopWatch() {
  state.watchGeneration += 1;
  clearTimeout(state.reconnectTimer);
  if (state.watch) { state.watch.close(); state.watch = null; }
  setBanner(false);
}

function startWatch() {
  stopWatch();
  if (!state.session) return;
  const generation = state.watchGeneration;
  const message = { filter: state.filter, includeProgress: true };
  if (state.revision !== null) message.sinceRevision = state.revision.toString();
  const source = new EventSource(`/api/${JOBS}/WatchJobs?message=${encodeURIComponent(JSON.stringify(message))}`);
  state.watch = source;
  source.addEventListener("open", () => { if (generation === state.watchGeneration) setBanner(false); });
  source.addEventListener("message", (event) => {
    if (generation !== state.watchGeneration) return;
    setBanner(false);
    let data;
    try { data = JSON.parse(event.data); } catch { return; }
    onWatchEvent(data);
  });
  source.addEventListener("kiln-error", (event) => {
    if (generation !== state.watchGeneration) return;
    let error;
    try { error = new ApiError(0, JSON.parse(event.data)); } catch { error = new ApiError(0, { status: "UNKNOWN", message: event.data }); }
    if (error.status === "UNAVAILABLE") { setBanner(true); return; } // EventSource reconnects with Last-Event-ID
    source.close();
    if (error.status === "OUT_OF_RANGE" || error.status === "RESOURCE_EXHAUSTED") { notice("Live updates resynchronized."); reload(); return; }
    if (error.status === "UNAUTHENTICATED") { signedOut("Your session ended: sign in again."); return; }
    setBanner(false);
    showError(error, "Live updates stopped");
  });
  source.addEventListener("error", () => {
    if (generation !== state.watchGeneration) return;
    setBanner(true);
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error while reconnecting): check the session, then
      // watch again from the last revision seen, so that nothing is missed.
      state.reconnectTimer = setTimeout(async () => {
        if (generation !== state.watchGeneration) return;
        try {
          state.session = await request("/api/session", "GET");
        } catch (error) {
          if (error.httpStatus === 401) { signedOut("Your session ended: sign in again."); return; }
        }
        if (generation === state.watchGeneration) startWatch();
        setBanner(true);
      }, 2000);
    }
  });
}

// ---------------------------------------------------------------- detail and logs

async function openDetail(id) {
  closeLog();
  state.detailId = id;
  state.detailJob = null;
  const pane = $("detail");
  pane.hidden = false;
  $("detail-title").textContent = `Job ${id}`;
  $("detail-fields").replaceChildren(el("dd", { text: "Loading…" }));
  $("steps").replaceChildren();
  $("detail-actions").replaceChildren();
  pane.focus();
  try {
    const response = await call(`${JOBS}/GetJob`, { id });
    if (state.detailId === id) renderDetail(response.job);
  } catch (error) {
    showError(error, `Reading job ${id}`);
  }
}

function closeDetail() {
  closeLog();
  const wasOpen = state.detailId;
  state.detailId = null;
  state.detailJob = null;
  $("detail").hidden = true;
  if (wasOpen) {
    const opener = $("rows").querySelector(`tr[data-job-id="${CSS.escape(wasOpen)}"] [data-testid=job-open]`);
    if (opener) opener.focus();
  }
}

function renderDetail(job, note) {
  if (!job) return;
  state.detailJob = job;
  const fields = [
    ["Id", job.id], ["Project", job.project], ["Type", job.jobType],
    ["Subject", `${job.subject} (v${job.subjectVersion || 0})`], ["Status", null], ["Progress", `${job.progress || 0}%`],
    ["Status reason", job.statusReason], ["Error", job.errorMessage], ["Attempt", String(job.attempt || 1)],
    ["Submitter", job.submitter], ["Created", formatTime(job.createTime)], ["Started", formatTime(job.startTime)],
    ["Ended", formatTime(job.endTime)], ["Updated", formatTime(job.updateTime)], ["Waited", formatDuration(job.waitTime)],
    ["Ran", formatDuration(job.duration)], ["Revision", job.revision],
    ["Params", Object.entries(job.params || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
  ];
  const list = $("detail-fields");
  list.replaceChildren();
  if (note) list.append(el("dt", { text: "Note" }), el("dd", { text: note }));
  for (const [name, value] of fields) {
    if (name !== "Status" && !value) continue;
    const key = name.toLowerCase().replace(/ /g, "-");
    list.append(el("dt", { text: name }),
      name === "Status" ? el("dd", { "data-testid": "detail-status" }, statusBadge(job.status))
        : el("dd", { "data-testid": `detail-${key}`, text: value }));
  }
  const actions = $("detail-actions");
  actions.replaceChildren();
  if (canOperate(job.project) && !note) {
    for (const action of ACTIONS.filter((a) => allowedActions(job).includes(a))) {
      actions.append(el("button", {
        type: "button", class: CONFIRMED.has(action) ? "danger" : null, "data-testid": `detail-${action.toLowerCase()}`,
        text: ACTION_LABEL[action], onclick: () => operate(job, action),
      }));
    }
  }
  const steps = $("steps");
  steps.replaceChildren(...(job.steps || []).map((step) => el("tr", { "data-testid": "step-row", "data-step": step.name, "data-status": short(step.status) },
    el("td", { text: String(step.index || 0) }),
    el("td", { text: step.name }),
    el("td", {}, statusBadge(step.status)),
    el("td", {}, progressBar(step.progress, `Progress of step ${step.name}`)),
    el("td", { class: "nowrap", text: formatTime(step.startTime) }),
    el("td", { class: "nowrap", text: formatTime(step.endTime) }),
    el("td", { class: "nowrap", text: formatDuration(step.duration) }),
    el("td", { "data-testid": "step-retries", text: String(step.retries || 0) }),
    el("td", { class: "error-text", "data-testid": "step-error", text: step.errorMessage || "" }),
    el("td", {}, el("button", {
      type: "button", "data-testid": "step-log", "aria-label": `Log of step ${step.name}`, text: "Log",
      onclick: () => openLog(job.id, step),
    })),
  )));
  if (state.log && state.log.jobId === job.id) {
    const step = (job.steps || []).find((s) => s.id === state.log.stepId);
    if (step) state.log.stepStatus = short(step.status);
  }
}

function decodeBase64(text) {
  const binary = atob(text || "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function closeLog() {
  if (state.log && state.log.source) state.log.source.close();
  if (state.log) clearTimeout(state.log.timer);
  state.log = null;
  $("log").hidden = true;
  $("log-text").textContent = "";
}

function appendLog(log, base64) {
  const bytes = decodeBase64(base64);
  if (!bytes.length) return;
  const pre = $("log-text");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.append(document.createTextNode(log.decoder.decode(bytes, { stream: true })));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function setLogState(text) { $("log-state").textContent = text; }

async function openLog(jobId, step) {
  closeLog();
  const log = { jobId, stepId: step.id, stepName: step.name, offset: 0, decoder: new TextDecoder(), stepStatus: short(step.status) };
  state.log = log;
  $("log").hidden = false;
  $("log-title").textContent = `Log of ${step.name}`;
  if (log.stepStatus === "RUNNING") follow(log);
  else await readLog(log, true);
}

// Reads the log from log.offset to its end with GetStepLog.
async function readLog(log, final) {
  try {
    for (;;) {
      const response = await call(`${JOBS}/GetStepLog`, { jobId: log.jobId, stepId: log.stepId, offset: String(log.offset) });
      if (state.log !== log) return;
      appendLog(log, response.data);
      const next = Number(response.nextOffset || 0);
      const progressed = next > log.offset;
      log.offset = next;
      if (response.complete) { setLogState("complete"); $("log").dataset.complete = "true"; return; }
      if (!progressed) break;
    }
    if (final) setLogState("step not running; log so far");
  } catch (error) {
    if (state.log === log) showError(error, `Reading the log of ${log.stepName}`);
  }
}

// Follows the log with FollowStepLog; the stream ends with the step.
function follow(log) {
  setLogState("following…");
  $("log").dataset.complete = "false";
  const message = { jobId: log.jobId, stepId: log.stepId, offset: String(log.offset) };
  const source = new EventSource(`/api/${JOBS}/FollowStepLog?message=${encodeURIComponent(JSON.stringify(message))}`);
  log.source = source;
  let ended = false;
  const finish = async () => {
    if (ended || state.log !== log) return;
    ended = true;
    source.close();
    await readLog(log, true);
  };
  source.addEventListener("message", (event) => {
    if (state.log !== log) return;
    let data;
    try { data = JSON.parse(event.data); } catch { return; }
    const next = Number(data.nextOffset || 0);
    if (next <= log.offset && !(data.data)) return;
    appendLog(log, data.data);
    log.offset = next;
  });
  for (const name of ["end", "kiln-end", "done"]) source.addEventListener(name, finish);
  source.addEventListener("kiln-error", (event) => {
    if (state.log !== log) return;
    let error;
    try { error = new ApiError(0, JSON.parse(event.data)); } catch { error = new ApiError(0, { message: event.data }); }
    if (error.status === "UNAVAILABLE") return;
    source.close();
    ended = true;
    if (error.status === "UNAUTHENTICATED") { signedOut("Your session ended: sign in again."); return; }
    showError(error, `Following the log of ${log.stepName}`);
  });
  source.addEventListener("error", async () => {
    // The stream closed: the step ended, or the connection dropped. Ask the step's status.
    if (ended || state.log !== log) return;
    try {
      const response = await call(`${JOBS}/GetJob`, { id: log.jobId });
      const step = (response.job.steps || []).find((s) => s.id === log.stepId);
      if (!step || short(step.status) !== "RUNNING") await finish();
    } catch (error) {
      if (error.status === "NOT_FOUND") { ended = true; source.close(); showError(error, "The job is gone"); }
    }
  });
}

// ---------------------------------------------------------------- wiring

function wireUp() {
  // A page left for another (and perhaps kept in the back/forward cache) closes its
  // streams: a browser allows few connections per server, and a hidden page holding them
  // would starve the next one. Shown again from the cache, it reads the list afresh.
  window.addEventListener("pagehide", () => { stopWatch(); closeLog(); });
  window.addEventListener("pageshow", (event) => { if (event.persisted && state.session) reload(); });
  // On a phone the filters start folded, so that the jobs are on the first screen.
  if (window.matchMedia && matchMedia("(max-width: 600px)").matches) $("filters-box").open = false;
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("alert-close").addEventListener("click", clearError);
  $("filters").addEventListener("submit", applyFilters);
  $("f-project").addEventListener("change", () => applyFilters());
  $("f-clear").addEventListener("click", () => {
    $("filters").reset();
    applyFilters();
  });
  $("refresh").addEventListener("click", () => reload());
  $("new-jobs").addEventListener("click", () => { firstPage(); reload(); });
  $("prev").addEventListener("click", previousPage);
  $("next").addEventListener("click", nextPage);
  $("page-size").addEventListener("change", (event) => { state.pageSize = Number(event.target.value); firstPage(); reload(); });
  $("batch-clear").addEventListener("click", () => { state.selected.clear(); render(); });
  $("detail-close").addEventListener("click", closeDetail);
  $("log-close").addEventListener("click", closeLog);
  document.addEventListener("click", (event) => {
    if (state.openMenu && !state.openMenu.menu.contains(event.target)) closeMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || $("confirm").open) return; // the dialog closes itself
    if (state.openMenu) { event.preventDefault(); closeMenu(true); return; }
    if (!$("detail").hidden) { event.preventDefault(); closeDetail(); }
  });
}

start();
