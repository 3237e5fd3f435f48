// Small display pieces shared by every page.
import { h } from "preact";
import htm from "htm";
import { signal } from "@preact/signals";

const html = htm.bind(h);

// now ticks so that relative times ("5m ago") and freshness stay true without new data.
export const now = signal(Date.now());
setInterval(() => { now.value = Date.now(); }, 10_000);

export function Badge({ kind, value }) {
  return html`<span class=${`badge ${kind} ${kind}-${value}`}>${value}</span>`;
}

export function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function ago(t, now = Date.now()) {
  const s = Math.round((now - new Date(t).getTime()) / 1000);
  if (s < 0) return "in the future";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// When shows a time as "5m ago", with the exact UTC time on hover.
export function When({ t }) {
  return html`<time datetime=${t} title=${fmtTime(t)}>${ago(t, now.value)}</time>`;
}

export function Actor({ a }) {
  if (!a) return null;
  return html`<span class=${"actor actor-" + a.kind} title=${a.kind}>${a.name || a.id}</span>`;
}

// goDuration parses Go duration text ("1h30m0s", "15m0s", "90s") into milliseconds.
export function goDuration(s) {
  if (!s) return 0;
  const unit = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, "µs": 1e-3, ns: 1e-6 };
  let total = 0;
  for (const [, n, u] of s.matchAll(/([\d.]+)(h|ms|us|µs|ns|m|s)/g)) total += Number(n) * unit[u];
  return total;
}

// Freshness shows whether an observation still holds, or since when it is stale. It is judged
// again as time passes, not only when the card was fetched.
export function Freshness({ o, at }) {
  const ttl = goDuration(o.stale_after);
  const until = ttl ? new Date(new Date(o.occurred_at).getTime() + ttl) : null;
  if (!until || (at ?? now.value) < until.getTime()) return html`<span class="badge fresh" title=${until ? "stale at " + fmtTime(until) : "does not go stale"}>fresh</span>`;
  return html`<span class="badge stale" title=${"stale since " + fmtTime(until)}>stale <${When} t=${until.toISOString()} /></span>`;
}
