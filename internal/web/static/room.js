// The incident room: the live timeline and the composer in the workspace, the state card beside
// it, the incident's headline in the top strip, and a catch-up for whoever comes back.
import { h } from "preact";
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import htm from "htm";
import { get, post, stream } from "./api.js";
import { param, setParams } from "./url.js";
import { Badge, When, Actor, Freshness, fmtTime, goDuration, now } from "./bits.js";

const html = htm.bind(h);

// room is the open incident: its state card, its whole log, and the stream's state.
export const room = signal({ id: null, card: null, events: [], live: "connecting", error: "" });

const seenKey = (id) => `sextant.seen.${id}`;

function update(patch) { room.value = { ...room.value, ...patch }; }

async function loadEvents(id) {
  let events = [];
  let after = 0;
  for (;;) {
    const page = await get(`/api/incidents/${id}/events?after_seq=${after}&limit=2000`);
    events = events.concat(page.events);
    after = page.next_after_seq;
    if (!page.has_more) return { events, after };
  }
}

function cardPath(id) {
  const asOf = param("as_of");
  return asOf ? `/api/incidents/${id}?as_of=${encodeURIComponent(asOf)}&clock=${param("clock") || "recorded"}` : `/api/incidents/${id}`;
}

function useRoom(id, asOf, clock) {
  useEffect(() => {
    room.value = { id, card: null, events: [], live: "connecting", error: "", catchup: null };
    let stopped = false;
    let close = () => {};
    let timer;
    const refreshCard = () => {
      clearTimeout(timer);
      timer = setTimeout(() => get(cardPath(id)).then((card) => { if (!stopped) update({ card }); }).catch(() => {}), 80);
    };
    (async () => {
      try {
        const [card, { events, after }] = await Promise.all([get(cardPath(id)), loadEvents(id)]);
        if (stopped) return;
        update({ card, events });
        const seen = Number(localStorage.getItem(seenKey(id)) || 0);
        if (seen > 0 && seen < after) {
          get(`/api/incidents/${id}/catchup?since_seq=${seen}`).then((c) => { if (!stopped) update({ catchup: c }); });
        } else {
          localStorage.setItem(seenKey(id), String(after));
        }
        close = stream(`/api/incidents/${id}/stream?after_seq=${after}`, ["event", "analysis"], (kind, ev) => {
          if (kind === "analysis") {
            update({ analysis: ev }); // how far a diagnosis run is: passing news, no seq
            return;
          }
          const cur = room.value;
          const last = cur.events.length ? cur.events[cur.events.length - 1].seq : 0;
          if (ev.seq <= last) return;
          update({ events: [...cur.events, ev] });
          refreshCard();
        }, (s) => update({ live: s }));
      } catch (e) {
        if (!stopped) update({ error: e.message });
      }
    })();
    return () => {
      stopped = true;
      close();
      clearTimeout(timer);
      // Whatever was on screen when leaving has been seen, unless a catch-up is still unread.
      const cur = room.value;
      if (cur.id === id && cur.events.length && !cur.catchup) {
        localStorage.setItem(seenKey(id), String(cur.events[cur.events.length - 1].seq));
      }
    };
  }, [id, asOf, clock]);
}

function markRead() {
  const cur = room.value;
  if (cur.events.length) localStorage.setItem(seenKey(cur.id), String(cur.events[cur.events.length - 1].seq));
  update({ catchup: null });
}

// append posts one event to the open incident.
export async function append(type, payload, extra = {}) {
  return post(`/api/incidents/${room.value.id}/events`, { type, payload, ...extra });
}

const ranges = [["incident", "Since declared"], ["now-1h", "Last 1h"], ["now-6h", "Last 6h"], ["now-24h", "Last 24h"], ["now-7d", "Last 7d"]];

export function RoomStrip() {
  const c = room.value.card;
  const from = param("from") || "incident";
  if (!c) return html`<div class="strip-main muted">${room.value.error || "Loading…"}</div>`;
  return html`
    <div class="strip-main">
      <span class="num">INC-${c.number}</span>
      <strong class="strip-title">${c.title}</strong>
      <${Badge} kind="sev" value=${c.severity} />
      <${Badge} kind="status" value=${c.status} />
    </div>
    <div class="strip-impact" title=${c.impact ? c.impact.description : ""}>
      ${c.impact ? html`<span class="label">Impact</span> ${c.impact.description}${c.impact.who ? ` · ${c.impact.who}` : ""}${c.impact.how_many ? ` · ${c.impact.how_many}` : ""}`
        : html`<span class="muted">No impact stated yet</span>`}
    </div>
    <div class="strip-range">
      <select aria-label="Time range" value=${from} onChange=${(e) => setParams({ from: e.target.value === "incident" ? null : e.target.value, to: null })}>
        ${ranges.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select>
      <span class=${"live " + room.value.live} id="live-state">${param("as_of") ? "as of " + fmtTime(param("as_of")) : room.value.live}</span>
    </div>`;
}

// superseded maps an event id to the id of the event that corrected or retracted it.
function supersededBy(events) {
  const m = new Map();
  for (const ev of events) if (ev.refs?.supersedes) m.set(ev.refs.supersedes, ev);
  return m;
}

const kindOf = (type) => type.split(".")[0].replace("incident", "status").replace("followup", "follow-up");

// related reports whether an event touches the selected item (is it, refers to it, or corrects it).
function related(ev, sel) {
  if (!sel) return false;
  const p = ev.payload || {};
  return ev.id === sel || p.hypothesis === sel || p.action === sel || ev.refs?.supersedes === sel || (ev.refs?.evidence || []).includes(sel);
}

function Timeline() {
  const { events } = room.value;
  const sel = param("sel");
  const asOf = param("as_of");
  const sup = supersededBy(events);
  const byID = new Map(events.map((ev) => [ev.id, ev]));
  // A transition names its hypothesis or action by id; show what it was about.
  const about = (ev) => {
    const target = byID.get(ev.payload?.hypothesis || ev.payload?.action);
    return target ? ` — “${target.payload.text}”` : "";
  };
  const items = [...events].reverse();
  return html`
    <ol class="timeline" id="timeline" aria-label="Timeline">
      ${items.map((ev) => {
        const by = sup.get(ev.id);
        const later = asOf && ev.recorded_at > asOf;
        const cls = ["entry", "kind-" + kindOf(ev.type), by ? "superseded" : "", related(ev, sel) ? "selected" : "", later ? "after-asof" : ""].join(" ");
        const backdated = Math.abs(new Date(ev.recorded_at) - new Date(ev.occurred_at)) > 60e3;
        return html`
          <li key=${ev.id} class=${cls} data-seq=${ev.seq} data-type=${ev.type} data-id=${ev.id}
              onClick=${() => setParams({ sel: sel === ev.id ? null : ev.id })}>
            <span class="when"><${When} t=${ev.occurred_at} />${backdated && html`<span class="backdated" title=${"recorded " + fmtTime(ev.recorded_at)}> (back-dated)</span>`}</span>
            <span class="kind">${kindOf(ev.type)}</span>
            <${Actor} a=${ev.actor} />
            <span class="text">${ev.text}${about(ev)}</span>
            ${by && html`<span class="superseded-note">${by.type === "entry.retracted" ? "retracted" : "corrected"} in #${by.seq}</span>`}
          </li>`;
      })}
    </ol>`;
}

function CatchUp() {
  const c = room.value.catchup;
  if (!c) return null;
  return html`
    <section class="catchup" id="catchup" aria-label="Since you last looked">
      <header><strong>Since you last looked</strong> <span class="muted">${c.events} new event${c.events === 1 ? "" : "s"}</span>
        <button onClick=${markRead}>Mark as read</button></header>
      ${c.changes?.length > 0 && html`<ul class="changes">${c.changes.map((t) => html`<li>${t}</li>`)}</ul>`}
      ${c.groups.map((g) => html`
        <details open=${g.kind !== "notes"}>
          <summary>${g.title} <span class="muted">${g.items.length}</span></summary>
          <ul>${g.items.map((i) => html`<li><${When} t=${i.occurred_at} /> <${Actor} a=${i.by} /> ${i.text}</li>`)}</ul>
        </details>`)}
    </section>`;
}

// The composer: one form whose fields follow the kind of entry chosen.
const kinds = {
  observation: { label: "Observation", type: "observation.recorded", fields: [["text", "What did you see?"], ["source", "Source (dashboard, query, user report)"], ["stale_after", "Stale after (e.g. 15m)"]] },
  hypothesis: { label: "Hypothesis", type: "hypothesis.proposed", fields: [["text", "What might explain it?"]] },
  action: { label: "Action", type: "action.planned", fields: [["text", "What will be done?"], ["owner", "Owner"], ["expected_effect", "Expected effect"]] },
  decision: { label: "Decision", type: "decision.recorded", fields: [["text", "What was decided?"], ["rationale", "Why"]] },
  impact: { label: "Impact", type: "impact.stated", fields: [["description", "Who is hurt, how?"], ["who", "Who (cohort)"], ["how_many", "How many"]] },
  note: { label: "Note", type: "note.added", fields: [["text", "Note"]] },
  followup: { label: "Follow-up", type: "followup.added", fields: [["text", "What should happen after?"], ["owner", "Owner"]] },
};

function payloadOf(kind, form) {
  const p = {};
  for (const [name] of kinds[kind].fields) {
    const v = form.elements[name]?.value.trim();
    if (!v) continue;
    p[name] = name === "owner" ? { name: v } : v;
  }
  return p;
}

function Composer() {
  const kind = useSignal("observation");
  const err = useSignal("");
  const busy = useSignal(false);
  const k = kinds[kind.value];
  const submit = async (e) => {
    e.preventDefault();
    const form = e.target;
    busy.value = true;
    try {
      const backdate = form.elements.occurred_at.value;
      await append(k.type, payloadOf(kind.value, form), backdate ? { occurred_at: new Date(backdate).toISOString() } : {});
      form.reset();
      err.value = "";
    } catch (x) {
      err.value = x.message;
    } finally {
      busy.value = false;
    }
  };
  return html`
    <form class="composer" id="composer" onSubmit=${submit}>
      <div class="kinds" role="tablist">
        ${Object.entries(kinds).map(([key, v]) => html`
          <button type="button" role="tab" aria-selected=${kind.value === key} class=${kind.value === key ? "on" : ""}
            data-kind=${key} onClick=${() => { kind.value = key; err.value = ""; }}>${v.label}</button>`)}
      </div>
      <div class="fields">
        ${k.fields.map(([name, ph], i) => html`<input name=${name} placeholder=${ph} required=${i === 0} class=${i === 0 ? "main" : ""} />`)}
        <input name="occurred_at" type="datetime-local" title="When it happened (leave empty for now)" />
        <button class="primary" disabled=${busy.value}>Add</button>
      </div>
      ${err.value && html`<p class="error" role="alert">${err.value}</p>`}
    </form>`;
}

export function Room({ id }) {
  useRoom(id, param("as_of"), param("clock"));
  const { card, error } = room.value;
  if (error) return html`<p class="error">${error}</p>`;
  if (!card) return html`<p class="muted">Loading…</p>`;
  const asOf = param("as_of");
  return html`
    <div class="room">
      ${asOf ? html`<div class="asof-banner">Showing the state as of ${fmtTime(asOf)} (${param("clock") || "recorded"} clock).
          <button onClick=${() => setParams({ as_of: null, clock: null })}>Back to live</button></div>`
        : html`<${Composer} />`}
      <${CatchUp} />
      <${Timeline} />
    </div>`;
}

// The state card.

async function act(fn) {
  try {
    await fn();
  } catch (x) {
    alert(x.message);
  }
}

function StatusControls({ c }) {
  const statuses = ["investigating", "identified", "mitigating", "monitoring", "resolved", "closed"];
  const sevs = ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"];
  return html`
    <div class="controls">
      <label>Status
        <select id="status-select" value=${c.status} onChange=${(e) => act(() => append("incident.status_changed", { status: e.target.value }))}>
          ${statuses.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <label>Severity
        <select id="severity-select" value=${c.severity} onChange=${(e) => act(() => append("incident.severity_changed", { severity: e.target.value }))}>
          ${sevs.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
    </div>`;
}

function Roles({ c }) {
  const all = ["commander", "communications", "scribe", "operations"];
  const held = Object.fromEntries((c.roles || []).map((r) => [r.role, r]));
  const assign = (role) => {
    const name = prompt(`Who takes the ${role} role?`);
    if (name) act(() => append("role.assigned", { role, person: { name } }));
  };
  return html`
    <ul class="roles">
      ${all.map((role) => html`
        <li data-role=${role}><span class="label">${role}</span>
          ${held[role] ? html`<span>${held[role].person.name}</span> <span class="muted"><${When} t=${held[role].since} /></span>
            <button class="link" onClick=${() => act(() => append("role.released", { role }))}>release</button>`
            : html`<span class="muted">—</span>`}
          <button class="link" onClick=${() => assign(role)}>${held[role] ? "hand over" : "take/assign"}</button>
        </li>`)}
    </ul>`;
}

function Hypotheses({ list, sel }) {
  if (!list?.length) return html`<p class="muted">None yet.</p>`;
  const rate = (hid, status) => act(() => append("hypothesis.status_changed", { hypothesis: hid, status }));
  return html`
    <ul class="hypotheses">
      ${list.map((x) => html`
        <li key=${x.id} data-id=${x.id} class=${"hyp-" + x.status + (sel === x.id ? " selected" : "")}>
          <${Badge} kind="hyp" value=${x.status} /> <span class="text">${x.text}</span>
          <div class="row-actions">
            ${["supported", "refuted", "confirmed", "open"].filter((s) => s !== x.status).map((s) => html`<button class="link" onClick=${() => rate(x.id, s)}>${s}</button>`)}
          </div>
        </li>`)}
    </ul>`;
}

function Actions({ list, sel }) {
  if (!list?.length) return html`<p class="muted">None yet.</p>`;
  const step = (type, aid) => act(() => append(type, { action: aid }));
  return html`
    <ul class="actions">
      ${list.map((a) => html`
        <li key=${a.id} data-id=${a.id} class=${"act-" + a.status + (sel === a.id ? " selected" : "")}>
          <${Badge} kind="act" value=${a.status} /> <span class="text">${a.text}</span>
          ${a.owner?.name && html` <span class="muted">· ${a.owner.name}</span>`}
          ${a.expected_effect && html`<div class="expect">expects: ${a.expected_effect}</div>`}
          ${a.outcome && html`<div class="expect">outcome: ${a.outcome}</div>`}
          <div class="row-actions">
            ${a.status === "planned" && html`<button class="link" onClick=${() => step("action.started", a.id)}>start</button>`}
            ${(a.status === "planned" || a.status === "started") && html`
              <button class="link" onClick=${() => step("action.finished", a.id)}>finish</button>
              <button class="link" onClick=${() => step("action.abandoned", a.id)}>abandon</button>`}
          </div>
        </li>`)}
    </ul>`;
}

// isFresh judges an observation at `at` (ms), the moment the card shows.
function isFresh(o, at) {
  const ttl = goDuration(o.stale_after);
  return !ttl || at < new Date(o.occurred_at).getTime() + ttl;
}

export function StateCard() {
  const c = room.value.card;
  const sel = param("sel");
  const live = !param("as_of");
  const at = live ? now.value : new Date(c.now).getTime();
  return html`
    <div class="card" id="state-card">
      ${live && html`<${StatusControls} c=${c} />`}
      ${c.summary && html`<p class="summary">${c.summary}</p>`}
      <p class="muted">Declared <${When} t=${c.declared_at} /> by <${Actor} a=${c.declared_by} /> · updated <${When} t=${c.updated_at} /></p>
      <h4>Roles</h4>
      <${Roles} c=${c} />
      <h4>Hypotheses</h4>
      <${Hypotheses} list=${c.hypotheses} sel=${sel} />
      <h4>Actions</h4>
      <${Actions} list=${c.actions} sel=${sel} />
      <h4>Observations</h4>
      ${c.observations?.length ? html`<ul class="observations">
        ${c.observations.map((o) => html`<li key=${o.id} data-id=${o.id} class=${(isFresh(o, at) ? "fresh" : "stale") + (sel === o.id ? " selected" : "")}>
          <${Freshness} o=${o} at=${at} /> ${o.text} <span class="muted"><${When} t=${o.occurred_at} /></span></li>`)}</ul>`
        : html`<p class="muted">None yet.</p>`}
      ${c.decisions?.length > 0 && html`<h4>Decisions</h4><ul>${c.decisions.map((d) => html`<li data-id=${d.id}>${d.payload.text}</li>`)}</ul>`}
      ${c.signals?.length > 0 && html`<h4>Signals</h4><ul class="signals">${c.signals.map((d) => html`<li data-id=${d.id} class=${"signal-" + (d.payload.state || "")}>
        <${Badge} kind="signal" value=${d.payload.kind} /> ${d.payload.state && html`<${Badge} kind="state" value=${d.payload.state} />`}
        ${d.payload.url ? html` <a href=${d.payload.url} target="_blank" rel="noopener noreferrer">${d.payload.title}</a>` : " " + d.payload.title}</li>`)}</ul>`}
      <${Findings} list=${c.findings} live=${live} progress=${room.value.analysis} />
      ${c.follow_ups?.length > 0 && html`<h4>Follow-ups</h4><ul>${c.follow_ups.map((d) => html`<li data-id=${d.id}>${d.payload.text}</li>`)}</ul>`}
      <${AsOfPicker} />
    </div>`;
}

// Findings lists the analyzer's current findings, each with its evidence, the queries that
// reproduce it, its base rate and what would refute it: evidence, not verdicts.
function Findings({ list, live, progress }) {
  const busy = useSignal("");
  const rerun = async () => {
    busy.value = "Analysing…";
    try {
      const r = await post(`/api/incidents/${room.value.id}/analysis`, {});
      busy.value = r.posted ? "" : "No new findings.";
    } catch (e) {
      busy.value = e.message;
    }
  };
  const order = ["impact", "breakdown", "cause", "change", "logs"];
  const sorted = [...(list || [])].sort((a, b) => order.indexOf(a.payload.kind) - order.indexOf(b.payload.kind));
  return html`
    <h4>Findings ${live && html`<button type="button" class="small" onClick=${rerun} disabled=${busy.value === "Analysing…"}>Analyse again</button>`}</h4>
    ${progress?.running && html`<p class="muted analysis-progress">Analysing: ${progress.stage || "starting"}${progress.steps ? ` (${progress.step} of ${progress.steps})` : ""}</p>`}
    ${busy.value && !progress?.running && html`<p class="muted">${busy.value}</p>`}
    ${sorted.length ? html`<ul class="findings">${sorted.map((d) => {
      const f = d.payload;
      return html`<li key=${d.id} data-id=${d.id} class=${"finding finding-" + f.kind}>
        <${Badge} kind="finding" value=${f.kind} /> <span class="muted">confidence ${Math.round(f.confidence * 100)}%</span> ${f.title}
        ${f.action && html`<div class="finding-action">Would undo it: ${f.action}</div>`}
        <details><summary>Evidence</summary>
          <ul>${(f.evidence || []).map((e) => html`<li>${e.summary}${e.query && html` <code class="query">${e.query}</code>`}</li>`)}</ul>
          ${f.base_rate && html`<p>${f.base_rate}</p>`}
          ${f.refutation && html`<p>Would refute it: ${f.refutation}</p>`}
          ${f.not_examined?.length > 0 && html`<p>Not examined: ${f.not_examined.join("; ")}</p>`}
        </details></li>`;
    })}</ul>` : html`<p class="muted">None yet: the analysis runs when the incident is declared and when an alert is attached.</p>`}`;
}

// AsOfPicker replays the state card as of a past moment (what was known when).
function AsOfPicker() {
  const go = (e) => {
    e.preventDefault();
    const v = e.target.elements.t.value;
    if (v) setParams({ as_of: new Date(v).toISOString(), clock: e.target.elements.clock.value });
  };
  return html`
    <form class="asof" onSubmit=${go}>
      <h4>Replay</h4>
      <input name="t" type="datetime-local" step="1" />
      <select name="clock"><option value="recorded">as recorded</option><option value="occurred">as happened</option></select>
      <button>Show</button>
    </form>`;
}
