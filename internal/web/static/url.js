// The URL holds the view: which page, which incident, the time range and the selection. A copied
// link reproduces the view; back restores the previous one.
import { signal, computed } from "@preact/signals";

export const loc = signal(new URL(location.href));

window.addEventListener("popstate", () => { loc.value = new URL(location.href); });

// route parses the path into a page and its arguments.
export const route = computed(() => {
  const p = loc.value.pathname;
  let m;
  if (p === "/login") return { page: "login" };
  if (p === "/incidents/new") return { page: "declare" };
  if (p === "/tokens") return { page: "tokens" };
  if ((m = p.match(/^\/incidents\/([^/]+)$/))) return { page: "room", id: decodeURIComponent(m[1]) };
  return { page: "list" };
});

export const param = (name) => loc.value.searchParams.get(name);

// navigate goes to a path, keeping the time range unless told otherwise.
export function navigate(path, params = {}) {
  const u = new URL(path, location.origin);
  for (const k of ["from", "to"]) {
    const v = loc.value.searchParams.get(k);
    if (v && !(k in params)) u.searchParams.set(k, v);
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") u.searchParams.delete(k);
    else u.searchParams.set(k, v);
  }
  history.pushState(null, "", u);
  loc.value = u;
}

// setParams changes view parameters in place (a new history entry, so back undoes it).
export function setParams(params) {
  navigate(loc.value.pathname, params);
}

// link makes an anchor's click navigate without a reload, leaving modified clicks to the browser.
export function onLink(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest("a");
  if (!a || a.origin !== location.origin || a.target) return;
  e.preventDefault();
  const u = new URL(a.href);
  history.pushState(null, "", u);
  loc.value = u;
}

// Time ranges are either absolute RFC 3339 times or relative to now ("now-1h").
const units = { m: 60e3, h: 3600e3, d: 86400e3 };

export function resolveTime(v, fallback) {
  if (!v) return fallback;
  const m = v.match(/^now(?:-(\d+)([mhd]))?$/);
  if (m) return new Date(Date.now() - (m[1] ? Number(m[1]) * units[m[2]] : 0));
  const d = new Date(v);
  return isNaN(d) ? fallback : d;
}
