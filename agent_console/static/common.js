// hotline: the shared browser base every page loads after i18n.js (no framework, no
// build step). What it gives a page, all on the one object `hl`:
//   hl.t(key, params)            a string in the user's language ({name} filled in;
//                                params.count picks key.one / key.other by Intl.PluralRules)
//   hl.enum(kind, value)         an enum value's label (agent_state, pause_reason,
//                                match_status, ticket_status, priority, outcome, channel, role)
//   hl.fmt.*                     numbers, percentages, times, dates, timers and durations
//   hl.el(tag, attrs, ...kids)   DOM building; text only ever through textContent
//   hl.api(method, path, body, {headers}) JSON fetch with the CSRF header; a 401 ends the session
//   hl.errorText(err)            a refusal translated by its `code` (never the server's detail)
//   hl.forms.show/clear(form)    422 field errors next to their fields
//   hl.session.onLeave(fn)       save drafts before the page goes to the login page
//   hl.drafts.save/take(key)     drafts in localStorage
//   hl.chartColors(own)          the charts' colours from the page's CSS custom properties
// live.js adds hl.live (the WebSocket, the server clock, the connection indicator) and
// alerts.js hl.alerts (sound, notification, tab title, aria-live).
//
// Why the browser's Intl (not Babel on the server): the server sends ISO times and
// plain numbers; the page formats them in the user's own time zone and language, so
// a screen in Berlin never shows UTC and one JSON feed serves both languages.
// Caller-supplied text (names, numbers) is data: set with textContent, never innerHTML.
"use strict";

// i18n.js holds {key: {de, en}}; the lookups below want one table per language
const I18N = {};
for (const [key, texts] of Object.entries(window.HOTLINE_I18N)) {
  for (const [lang, text] of Object.entries(texts)) (I18N[lang] = I18N[lang] || {})[key] = text;
}

const hl = {
  lang: localStorage.getItem("hotline.lang") || (navigator.language || "de").slice(0, 2),
  csrf: null,
  me: null,
  missing: new Set(),  // keys asked for but in no catalog: tests assert it stays empty

  has(key) { return key in (I18N[this.lang] || I18N.en); },
  t(key, params) {
    const table = I18N[this.lang] || I18N.en;
    if (params && typeof params.count === "number") {
      const plural = `${key}.${new Intl.PluralRules(this.lang).select(params.count)}`;
      if (plural in table) key = plural; else if (`${key}.other` in table) key = `${key}.other`;
    }
    let text = table[key];
    if (text === undefined) { this.missing.add(key); text = I18N.en[key] === undefined ? key : I18N.en[key]; }
    return params ? text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m)) : text;
  },
  enum(kind, value) {
    if (value === null || value === undefined || value === "") return "–";
    return this.t(`${kind}.${value}`);
  },
  // Which route a call took and why (the FastAGI `route` script), e.g. "Focus team Werke ·
  // English · VIP, moved up"; "" when hotline did not route it (no answer, an old dialplan).
  routeText(route) {
    if (!route || !route.reason || !this.has(`route.${route.reason}`)) return "";
    const parts = [route.reason === "team" && route.team ? this.t("route.team", { team: route.team }) : this.t(`route.${route.reason}`)];
    if (route.language && this.has(`console.lang.${route.language}`)) parts.push(this.t(`console.lang.${route.language}`));
    if (route.priority_reason && this.has(`route.moved_up.${route.priority_reason}`)) parts.push(this.t(`route.moved_up.${route.priority_reason}`));
    return parts.join(" · ");
  },
  // A pause reason is free text (a desk phone may set any); the known ones are translated.
  pauseReason(reason) {
    if (!reason) return "";
    return this.has(`pause_reason.${reason}`) ? this.t(`pause_reason.${reason}`) : this.t("pause_reason.other", { reason });
  },
  setLang(lang) { this.lang = I18N[lang] ? lang : "en"; localStorage.setItem("hotline.lang", this.lang); },
  translatePage(root = document) {
    root.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = hl.t(n.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = hl.t(n.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-label]").forEach((n) => { n.setAttribute("aria-label", hl.t(n.dataset.i18nLabel)); });
    root.querySelectorAll("[data-i18n-title]").forEach((n) => { n.title = hl.t(n.dataset.i18nTitle); });
    document.documentElement.lang = hl.lang;
  },

  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  },

  // options.headers: extra request headers (e.g. If-Match)
  async api(method, path, body, options = {}) {
    const headers = { "Accept": "application/json", ...(options.headers || {}) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    let res;
    try {
      res = await fetch(path, { method, headers, credentials: "same-origin",
                                body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      const err = new Error(hl.t("error.network")); err.status = 0; err.data = {}; throw err;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 401 && path !== "/api/session") hl.session.lost();
      const err = new Error(hl.errorText({ status: res.status, data }));
      err.status = res.status; err.data = data; throw err;
    }
    return data;
  },
  // A refusal in the user's language: by the server's `code`, else by status. The
  // server's `detail` is for developers and logs (it may name a CLI command).
  errorText(err) {
    const data = (err && err.data) || {}, status = (err && err.status) || 0;
    if (data.detail) console.info("server said:", status, data.detail);
    if (data.code && hl.has(`error.${data.code}`)) return hl.t(`error.${data.code}`);
    if (status === 0) return hl.t("error.network");
    if (status >= 500) return hl.t("error.http_5xx");
    if (hl.has(`error.http_${status}`)) return hl.t(`error.http_${status}`);
    return hl.t("error.unknown");
  },
  async loadMe() {
    try { this.me = await this.api("GET", "/api/me"); } catch (e) { if (e.status === 401) return null; throw e; }
    this.csrf = this.me.csrf_token;
    // the header's supervisor-only links (wallboard, reports): hidden from agents; admin-only ones from all others
    document.querySelectorAll("[data-supervisor]").forEach((n) => { n.hidden = this.me.role === "agent"; });
    document.querySelectorAll("[data-admin]").forEach((n) => { n.hidden = this.me.role !== "admin"; });
    if (!localStorage.getItem("hotline.lang")) this.setLang(this.me.language);
    return this.me;
  },
  async logout() {
    try { await this.api("DELETE", "/api/session"); } catch (e) { /* gone already: the login page either way */ }
    location.href = "/";
  },
  // The charts' colours (wallboard, reports) from the page's CSS custom properties, each
  // with its fallback: the shared sl, ink and grid, and the chart's `own` {key: [property, fallback]}.
  chartColors(own) {
    const css = getComputedStyle(document.body);
    const wanted = { sl: ["--chart-sl", "#1a6e31"], ink: ["--ink", "#1d2330"], grid: ["--grid", "#d5d9e0"], ...own };
    return Object.fromEntries(Object.entries(wanted).map(([key, [name, fallback]]) =>
      [key, css.getPropertyValue(name).trim() || fallback]));
  },
  // compatibility for console.js (rebuilt later on hl.fmt)
  seconds(s) { return hl.fmt.timer(s); },
  percent(x) { return hl.fmt.percent(x); },
};

// --- formatting: Intl in the browser's time zone and the page's language --------------
hl.fmt = {
  _cache: new Map(),
  // The page's language with the browser's region when they agree (en + en-US: 12-hour
  // times); English without one is British English (a 24-hour clock, as in the office).
  locale() {
    const own = (navigator.languages || [navigator.language || ""]).find((l) => l.slice(0, 2) === hl.lang);
    return own || (hl.lang === "en" ? "en-GB" : hl.lang);
  },
  _get(kind, options) {
    const locale = this.locale(), key = `${locale}|${kind}|${JSON.stringify(options)}`;
    if (!this._cache.has(key)) this._cache.set(key, new Intl[kind](locale, options));
    return this._cache.get(key);
  },
  // a phone number that never breaks across lines ("+49 341" / "25385555" in a narrow heading)
  phone(n) { return n ? String(n).replace(/ /g, "\u00a0") : n; },
  number(n, options = {}) { return n === null || n === undefined ? "–" : this._get("NumberFormat", options).format(n); },
  percent(x) { return x === null || x === undefined ? "–" : this._get("NumberFormat", { style: "percent", maximumFractionDigits: 0 }).format(x); },
  // "14:03" or "14:03:22": a wall-clock time in the browser's own time zone
  time(t, seconds = false) {
    if (t === null || t === undefined) return "–";
    const opts = { hour: "2-digit", minute: "2-digit", ...(seconds ? { second: "2-digit" } : {}) };
    return this._get("DateTimeFormat", opts).format(new Date(t));
  },
  dateTime(t) {
    if (t === null || t === undefined) return "–";
    return this._get("DateTimeFormat", { dateStyle: "medium", timeStyle: "short" }).format(new Date(t));
  },
  // a running timer: "0:39", "12:05", "1:02:03" (never "1437:20")
  timer(s) {
    if (s === null || s === undefined || Number.isNaN(s)) return "–";
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  },
  // a coarse length: "23 Std.", "2 Tg., 3 Std.", "5 Min." (Intl.DurationFormat where the
  // browser has it, else NumberFormat's units); the largest one or two units only
  duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, Math.round(Math.abs(s)));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    const parts = d ? { days: d, hours: h } : h ? { hours: h } : m ? { minutes: m } : { seconds: s };
    if (Intl.DurationFormat) return this._get("DurationFormat", { style: "short" }).format(parts);
    const unit = { days: "day", hours: "hour", minutes: "minute", seconds: "second" };
    return Object.entries(parts).filter(([, v]) => v).map(([k, v]) =>
      this._get("NumberFormat", { style: "unit", unit: unit[k], unitDisplay: "short" }).format(v)).join(" ");
  },
  // "in 3 Std." / "vor 5 Min.": how far `t` is from `now` (both ms)
  relative(t, now) {
    const s = (new Date(t) - now) / 1000, abs = Math.abs(s);
    const [value, unit] = abs >= 86400 ? [s / 86400, "day"] : abs >= 3600 ? [s / 3600, "hour"] : abs >= 60 ? [s / 60, "minute"] : [s, "second"];
    return this._get("RelativeTimeFormat", { numeric: "auto", style: "short" }).format(Math.round(value), unit);
  },
};

// --- 422 field errors next to their fields ------------------------------------------
hl.forms = {
  // `err` from hl.api: each `errors` item {field: "body.username", code, params} goes to
  // the form's control named "username"; the rest to the form's [data-form-error].
  show(form, err) {
    this.clear(form);
    const general = form.querySelector("[data-form-error]");
    const items = (err.data && Array.isArray(err.data.errors)) ? err.data.errors : [];
    let placed = 0;
    for (const item of items) {
      const name = String(item.field || "").split(".").slice(1).join(".");
      const input = name && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (!input) continue;
      const params = item.params || {};
      const code = item.code === "string_too_short" && params.min_length === 1 ? "missing" : item.code;
      const text = hl.has(`error.${code}`) ? hl.t(`error.${code}`, params) : hl.t("error.field");
      const id = `${input.id || input.name}-error`;
      const msg = hl.el("span", { class: "field-error", id, "data-field-error": name, text });
      const holder = input.closest("label, .field");
      if (holder) holder.append(msg); else input.after(msg);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      placed += 1;
    }
    if (general) general.textContent = placed ? hl.t("error.invalid") : hl.errorText(err);
    form.querySelector("[aria-invalid=true]")?.focus();
  },
  clear(form) {
    form.querySelectorAll(".field-error").forEach((n) => n.remove());
    form.querySelectorAll("[aria-invalid]").forEach((n) => { n.removeAttribute("aria-invalid"); n.removeAttribute("aria-describedby"); });
    const general = form.querySelector("[data-form-error]");
    if (general) general.textContent = "";
  },
};

// --- drafts and the end of a session -------------------------------------------------
hl.drafts = {
  save(key, value) { localStorage.setItem(`hotline.draft.${key}`, JSON.stringify({ at: Date.now(), value })); },
  take(key) {
    const raw = localStorage.getItem(`hotline.draft.${key}`);
    localStorage.removeItem(`hotline.draft.${key}`);
    return raw ? JSON.parse(raw).value : null;
  },
};

hl.session = {
  _hooks: [],
  _gone: false,
  // fn() runs (synchronously) before the page leaves for the login page: it saves the
  // page's drafts (hl.drafts.save) and returns true when it kept something
  onLeave(fn) { this._hooks.push(fn); },
  // The session is gone (expired, revoked, logged out elsewhere): keep drafts, go to login.
  lost() {
    if (this._gone) return;
    this._gone = true;
    let kept = false;
    for (const fn of this._hooks) { try { kept = fn() === true || kept; } catch (e) { console.error(e); } }
    const next = encodeURIComponent(location.pathname + location.search);
    location.href = `/?expired=1${kept ? "&drafts=1" : ""}&next=${next}`;
  },
  // Where the login page sends a user back to: a path on this site only.
  nextPath(search) {
    const next = new URLSearchParams(search).get("next") || "";
    return /^\/(?!\/)[\w\-/?=&.%]*$/.test(next) ? next : null;
  },
};
