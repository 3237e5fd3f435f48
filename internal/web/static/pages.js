// The pages other than the room: the incident list, declaring, token administration, login.
import { h } from "preact";
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import htm from "htm";
import { get, post, api, login } from "./api.js";
import { navigate, param, setParams } from "./url.js";
import { Badge, When } from "./bits.js";

const html = htm.bind(h);

export function ListPage() {
  const list = useSignal(null);
  const err = useSignal("");
  const filter = param("filter") || "open";
  useEffect(() => {
    const q = filter === "open" ? "?open=true&limit=500" : "?limit=500";
    get("/api/incidents" + q).then((r) => { list.value = r.incidents; }).catch((e) => { err.value = e.message; });
  }, [filter]);
  return html`
    <section class="list-page">
      <header class="page-head">
        <h2>Incidents</h2>
        <div class="seg">
          ${["open", "all"].map((f) => html`<button class=${filter === f ? "on" : ""} onClick=${() => setParams({ filter: f === "open" ? null : f })}>${f}</button>`)}
        </div>
      </header>
      ${err.value && html`<p class="error">${err.value}</p>`}
      ${list.value === null ? html`<p class="muted">Loading…</p>` : list.value.length === 0 ? html`<p class="muted">No ${filter === "open" ? "open " : ""}incidents. <a href="/incidents/new">Declare one</a>.</p>` : html`
        <table class="incidents" id="incident-table">
          <thead><tr><th>#</th><th>Sev</th><th>Title</th><th>Status</th><th>Commander</th><th>Impact</th><th>Updated</th></tr></thead>
          <tbody>${list.value.map((i) => html`
            <tr key=${i.id}>
              <td class="num">INC-${i.number}</td><td><${Badge} kind="sev" value=${i.severity} /></td>
              <td><a href=${"/incidents/" + i.id}>${i.title}</a></td>
              <td><${Badge} kind="status" value=${i.status} /></td>
              <td>${i.commander || html`<span class="muted">—</span>`}</td>
              <td class="impact">${i.impact}</td>
              <td><${When} t=${i.updated_at} /></td>
            </tr>`)}</tbody>
        </table>`}
    </section>`;
}

export function DeclarePage() {
  const err = useSignal("");
  const submit = async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const body = { title: f.title.value.trim(), severity: f.severity.value, summary: f.summary.value.trim() };
    if (f.occurred_at.value) body.occurred_at = new Date(f.occurred_at.value).toISOString();
    try {
      const r = await post("/api/incidents", body);
      navigate("/incidents/" + r.incident.id);
    } catch (x) {
      err.value = x.message;
    }
  };
  return html`
    <section class="declare">
      <h2>Declare an incident</h2>
      <form id="declare-form" onSubmit=${submit}>
        <label>Title <input name="title" required maxlength="200" placeholder="Checkout fails for some users" /></label>
        <label>Severity
          <select name="severity">${["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"].map((s) => html`<option selected=${s === "SEV3"}>${s}</option>`)}</select>
        </label>
        <label>Summary <textarea name="summary" rows="3" placeholder="What is known so far"></textarea></label>
        <label>Started at <input name="occurred_at" type="datetime-local" /> <span class="muted">leave empty for now</span></label>
        <button class="primary">Declare</button>
      </form>
      ${err.value && html`<p class="error" role="alert">${err.value}</p>`}
    </section>`;
}

export function TokensPage() {
  const tokens = useSignal([]);
  const created = useSignal(null);
  const err = useSignal("");
  const load = () => get("/api/tokens").then((r) => { tokens.value = r.tokens; }).catch((e) => { err.value = e.message; });
  useEffect(() => { load(); }, []);
  const create = async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    try {
      created.value = await post("/api/tokens", { name: f.name.value, role: f.role.value, kind: f.kind.value });
      e.target.reset();
      load();
    } catch (x) {
      err.value = x.message;
    }
  };
  const revoke = async (id) => {
    if (!confirm("Revoke this token? Its sessions end too.")) return;
    await api("DELETE", "/api/tokens/" + id).catch((x) => { err.value = x.message; });
    load();
  };
  return html`
    <section>
      <h2>API tokens</h2>
      ${err.value && html`<p class="error">${err.value}</p>`}
      ${created.value && html`<p class="secret">Token for ${created.value.name}: <code>${created.value.secret}</code> — copy it now, it is not shown again.</p>`}
      <form class="inline" onSubmit=${create}>
        <input name="name" placeholder="name" required />
        <select name="role"><option>viewer</option><option selected>responder</option><option>admin</option></select>
        <select name="kind"><option>person</option><option>integration</option><option>analyzer</option><option>ai</option></select>
        <button class="primary">Create</button>
      </form>
      <table class="tokens"><thead><tr><th>Name</th><th>Role</th><th>Kind</th><th>Created</th><th></th></tr></thead>
        <tbody>${tokens.value.map((t) => html`<tr class=${t.revoked_at ? "revoked" : ""}>
          <td>${t.name}</td><td>${t.role}</td><td>${t.kind}</td><td><${When} t=${t.created_at} /></td>
          <td>${t.revoked_at ? "revoked" : html`<button class="link" onClick=${() => revoke(t.id)}>revoke</button>`}</td></tr>`)}</tbody>
      </table>
    </section>`;
}

// LoginPage logs in with a token carried in the URL fragment (which browsers never send to the
// server), as printed by `sextant demo`, then drops it from the address bar.
export function LoginPage() {
  const err = useSignal("");
  useEffect(() => {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    history.replaceState(null, "", "/login");
    if (!token) {
      navigate("/");
      return;
    }
    login(token).then(() => navigate("/")).catch((e) => { err.value = e.message; });
  }, []);
  return html`<main class="login"><h1>Sextant</h1>${err.value ? html`<p class="error">${err.value}</p>` : html`<p class="muted">Logging in…</p>`}</main>`;
}
