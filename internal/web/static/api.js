// The API client: JSON over fetch with the session cookie, and live streams over EventSource.
import { signal } from "@preact/signals";

// me is the logged-in principal, null when unknown, false when logged out.
export const me = signal(null);

export class APIError extends Error {
  constructor(status, body) {
    super(body?.detail ? `${body.error}: ${body.detail}` : body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    if (res.status === 401) me.value = false;
    throw new APIError(res.status, data);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body);

export async function login(token) {
  me.value = await post("/api/session", { token });
}

export async function logout() {
  await api("DELETE", "/api/session");
  me.value = false;
}

export async function whoami() {
  try {
    me.value = await get("/api/me");
  } catch (e) {
    if (e.status !== 401) throw e;
  }
}

// stream opens a live stream and calls onEvent(kind, data) for each event. EventSource reconnects
// by itself and sends Last-Event-ID, so the server resumes exactly after the last event seen.
// onState gets "live" or "reconnecting".
export function stream(path, kinds, onEvent, onState) {
  const es = new EventSource(path);
  for (const k of kinds) {
    es.addEventListener(k, (m) => onEvent(k, JSON.parse(m.data), Number(m.lastEventId)));
  }
  es.onopen = () => onState?.("live");
  es.onerror = () => onState?.(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  return () => es.close();
}
