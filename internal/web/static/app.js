// Sextant's UI shell. The layout never reflows: a fixed top strip (impact and time range), a
// navigator on the left, the workspace in the middle, the incident's state on the right.
import { h, render } from "preact";
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import htm from "htm";
import { me, get, whoami, logout, login, stream } from "./api.js";
import { route, onLink } from "./url.js";
import { Room, RoomStrip, StateCard, room } from "./room.js";
import { ListPage, DeclarePage, TokensPage, LoginPage } from "./pages.js";
import { Badge } from "./bits.js";

const html = htm.bind(h);

// incidents is the navigator's list, kept live by the list stream.
const incidents = signal([]);
const listState = signal("connecting");
// sources is each telemetry source's health, asked every 30 s: a dead source shows as
// unavailable rather than as empty charts.
const sources = signal([]);

function useSources(enabled) {
  useEffect(() => {
    if (!enabled) return;
    const poll = () => get("/api/sources").then((r) => { sources.value = r.sources; }).catch(() => {});
    poll();
    const t = setInterval(poll, 30_000);
    return () => clearInterval(t);
  }, [enabled]);
}

function upsertIncident(hl) {
  const list = incidents.value.filter((i) => i.id !== hl.id);
  list.push(hl);
  list.sort((a, b) => (b.updated_at > a.updated_at ? 1 : -1));
  incidents.value = list;
}

function useIncidentList(enabled) {
  useEffect(() => {
    if (!enabled) return;
    let close = () => {};
    let stopped = false;
    get("/api/incidents?limit=200").then((r) => {
      if (stopped) return;
      incidents.value = r.incidents;
      close = stream(`/api/stream?after_pos=${r.last_pos}`, ["incident"], (_, hl) => upsertIncident(hl), (s) => { listState.value = s; });
    }).catch(() => { listState.value = "unavailable"; });
    return () => { stopped = true; close(); };
  }, [enabled]);
}

function Navigator() {
  const r = route.value;
  const open = incidents.value.filter((i) => i.status !== "resolved" && i.status !== "closed");
  const done = incidents.value.filter((i) => i.status === "resolved" || i.status === "closed").slice(0, 20);
  const item = (i) => html`
    <li key=${i.id} class=${r.id === i.id ? "current" : ""}>
      <a href=${"/incidents/" + i.id} data-incident=${i.id}>
        <${Badge} kind="sev" value=${i.severity} /> <span class="num">INC-${i.number}</span>
        <span class="title">${i.title}</span>
        <${Badge} kind="status" value=${i.status} />
      </a>
    </li>`;
  return html`
    <nav class="navigator" aria-label="Incidents">
      <div class="nav-head">
        <a href="/" class="brand">Sextant</a>
        <a href="/incidents/new" class="button primary" id="declare-link">Declare</a>
      </div>
      <h3>Open <span class="muted">${open.length}</span></h3>
      <ul class="incident-nav">${open.map(item)}</ul>
      ${done.length > 0 && html`<h3>Recently resolved</h3><ul class="incident-nav done">${done.map(item)}</ul>`}
      <div class="nav-foot">
        <ul class="sources" id="sources">${sources.value.map((src) => html`
          <li class=${"source " + src.status} title=${src.reason || ""}>${src.source}: ${src.status}</li>`)}</ul>
        <span class=${"live " + listState.value}>list ${listState.value}</span>
        ${me.value && html`<span class="whoami">${me.value.name} · ${me.value.role}</span>`}
        ${me.value?.role === "admin" && html`<a href="/tokens">Tokens</a>`}
        ${me.value && html`<button class="link" onClick=${logout}>Log out</button>`}
      </div>
    </nav>`;
}

function TopStrip() {
  const r = route.value;
  if (r.page === "room") return html`<header class="strip"><${RoomStrip} /></header>`;
  const open = incidents.value.filter((i) => i.status !== "resolved" && i.status !== "closed");
  const worst = open.map((i) => i.severity).sort()[0];
  return html`
    <header class="strip">
      <div class="strip-main">
        <strong>${open.length} open incident${open.length === 1 ? "" : "s"}</strong>
        ${worst && html` · worst <${Badge} kind="sev" value=${worst} />`}
      </div>
    </header>`;
}

function Side() {
  const r = route.value;
  if (r.page === "room" && room.value.card) return html`<aside class="side" aria-label="Incident state"><${StateCard} /></aside>`;
  return html`<aside class="side" aria-label="Incident state"><p class="muted">Open an incident to see its state card.</p></aside>`;
}

function Workspace() {
  const r = route.value;
  switch (r.page) {
    case "room": return html`<${Room} id=${r.id} key=${r.id} />`;
    case "declare": return html`<${DeclarePage} />`;
    case "tokens": return html`<${TokensPage} />`;
    default: return html`<${ListPage} />`;
  }
}

function LoginPanel() {
  const err = useSignal("");
  const submit = async (e) => {
    e.preventDefault();
    try {
      await login(e.target.token.value.trim());
    } catch (x) {
      err.value = x.message;
    }
  };
  return html`
    <main class="login">
      <h1>Sextant</h1>
      <p>Log in with an API token (<code>sextant token create --role responder --name you</code>).</p>
      <form onSubmit=${submit}>
        <input name="token" type="password" placeholder="sxt_…" autocomplete="off" required />
        <button class="primary">Log in</button>
      </form>
      ${err.value && html`<p class="error">${err.value}</p>`}
    </main>`;
}

function App() {
  // The login page logs in by itself; asking who we are at the same time would race it.
  useEffect(() => { if (route.value.page !== "login") whoami(); }, []);
  useIncidentList(!!me.value);
  useSources(!!me.value);
  const r = route.value;
  if (r.page === "login") return html`<${LoginPage} />`;
  if (me.value === null) return html`<main class="login"><p class="muted">Loading…</p></main>`;
  if (me.value === false) return html`<${LoginPanel} />`;
  return html`
    <div class="shell" onClick=${onLink}>
      <${TopStrip} />
      <${Navigator} />
      <main class="workspace"><${Workspace} /></main>
      <${Side} />
    </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
