/**
 * The status page: one self-contained HTML document (inline CSS and script, no external asset, no
 * third-party code) that fetches `status.json` from the same listener every few seconds and renders it.
 * Everything shown is set as text, never as markup: topics and names come from outside. The Content
 * Security Policy admits exactly this script and style (by hash) and connections to the same origin only.
 */
import { createHash } from 'node:crypto';

/** How often the page asks for fresh numbers, ms. */
export const STATUS_REFRESH_MS = 2_000;

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2433; --muted:#667085; --line:#e4e7ec; --ok:#12b76a; --warn:#f79009;
  --bad:#f04438; --accent:#2e90fa; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font-size:14px; }
header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#101828; color:#fff; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header .meta { color:#98a2b3; font-size:13px; }
header .spacer { flex:1; }
main { display:grid; grid-template-columns:repeat(3, minmax(0,1fr)); gap:14px; padding:16px 24px;
  grid-template-areas: "p p p" "d d d" "m m b" "m m l" "x x i"; align-items:start; }
#pipelines { grid-area:p; } #decisions { grid-area:d; } #models { grid-area:m; } #broker { grid-area:b; }
#inbox { grid-area:i; } #deadletters { grid-area:x; } #llm { grid-area:l; }
@media (max-width: 900px) { main { grid-template-columns:1fr; grid-template-areas: "p" "d" "m" "b" "l" "i" "x"; } }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 8px; font-weight:600; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 8px 4px 0; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12px; word-break:break-all; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; }
.badge.ok { background:var(--ok); } .badge.warn { background:var(--warn); } .badge.bad { background:var(--bad); }
.badge.idle { background:#98a2b3; }
.bar { position:relative; height:8px; background:#eef2f6; border-radius:4px; min-width:120px; }
.bar > span { position:absolute; left:0; top:0; bottom:0; border-radius:4px; }
.bar > i { position:absolute; top:-3px; bottom:-3px; width:2px; background:var(--ink); }
.kv { display:grid; grid-template-columns:max-content 1fr; gap:3px 12px; }
.kv dt { color:var(--muted); } .kv dd { margin:0; min-width:0; }
.model + .model { margin-top:10px; padding-top:10px; border-top:1px solid var(--line); }
.model h3 { font-size:14px; margin:0 0 6px; }
.heat td.cell { text-align:center; font-variant-numeric:tabular-nums; font-size:12px; min-width:28px; }
.muted { color:var(--muted); }
.big { font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
.stat { display:inline-block; margin-right:28px; }
#stale { display:none; background:var(--bad); color:#fff; padding:6px 24px; }
footer { padding:0 24px 18px; color:var(--muted); font-size:12px; }
`;

const SCRIPT = `
'use strict';
const REFRESH_MS = ${STATUS_REFRESH_MS};
let lastOk = 0;
function el(tag, cls, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}
function fill(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}
function ms(v) {
  if (v === null || v === undefined) return '\\u2014';
  if (v < 10) return v.toFixed(2) + ' ms';
  if (v < 100) return v.toFixed(1) + ' ms';
  return Math.round(v) + ' ms';
}
function pct(v) { return v === null || v === undefined ? '\\u2014' : (v * 100).toFixed(1) + ' %'; }
function clock(iso) { return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '\\u2014'; }
function duration(sec) {
  const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24, m = Math.floor(sec / 60) % 60, s = sec % 60;
  return d > 0 ? d + 'd ' + h + 'h' : h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + s + 's' : s + 's';
}
function badge(text, kind) { return el('span', 'badge ' + kind, text); }
function kv(pairs) {
  const dl = el('dl', 'kv');
  for (const [k, v] of pairs) dl.append(el('dt', null, k), el('dd', null, v));
  return dl;
}
function table(head, rows, numeric) {
  const t = el('table');
  const tr = el('tr');
  head.forEach((h, i) => tr.append(el('th', numeric && numeric[i] ? 'num' : null, h)));
  t.append(el('thead', null, tr));
  const body = el('tbody');
  for (const row of rows) {
    const r = el('tr');
    row.forEach((c, i) => r.append(el('td', numeric && numeric[i] ? 'num' : null, c)));
    body.append(r);
  }
  t.append(body);
  return t;
}
function budgetBar(p, budget) {
  const bar = el('div', 'bar');
  bar.title = 'p99 against the budget (marker)';
  const scale = Math.max(budget * 1.25, p || 0);
  const fillBar = el('span');
  fillBar.style.width = Math.min(100, ((p || 0) / scale) * 100) + '%';
  fillBar.style.background = p === null ? 'transparent' : p > budget ? 'var(--bad)' : p > budget * 0.8 ? 'var(--warn)' : 'var(--ok)';
  const marker = el('i');
  marker.style.left = (budget / scale) * 100 + '%';
  bar.append(fillBar, marker);
  return bar;
}
function renderPipelines(s) {
  const rows = s.pipelines.map((p) => {
    const l = p.latency;
    const state = l.p99Ms === null ? badge('idle', 'idle') : l.p99Ms > p.budgetMs ? badge('over budget', 'bad')
      : l.p99Ms > p.budgetMs * 0.8 ? badge('near budget', 'warn') : badge('within budget', 'ok');
    return [el('b', null, p.name), p.model, p.budgetMs + ' ms', ms(l.p50Ms), ms(l.p99Ms), budgetBar(l.p99Ms, p.budgetMs),
      pct(l.withinBudget), String(l.count), String(p.received), String(p.deadlineMisses), state];
  });
  fill('pipelines', el('h2', null, 'Pipelines \\u2014 latency over the last ' + Math.round(s.latencyWindowSec / 60) + ' min'),
    table(['pipeline', 'model', 'budget', 'p50', 'p99', 'p99 vs budget', 'within budget', 'decisions', 'received',
      'deadline misses', ''], rows, [0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0]));
}
function renderDecisions(s) {
  const minutes = s.decisions.minutes;
  const max = Math.max(1, ...s.decisions.series.flatMap((x) => x.counts));
  const head = ['pipeline', 'source', 'reason', ...minutes.map((m, i) => (i === minutes.length - 1 ? 'now' : clock(m).slice(0, 5))), 'total'];
  const t = el('table', 'heat');
  const hr = el('tr');
  head.forEach((h, i) => hr.append(el('th', i >= 3 ? 'num' : null, h)));
  t.append(el('thead', null, hr));
  const body = el('tbody');
  const order = (x) => x.pipeline + '\\u0000' + (x.source === 'model' ? '0' : '1') + x.reason;
  const series = [...s.decisions.series].sort((a, b) => order(a).localeCompare(order(b)));
  for (const x of series) {
    const r = el('tr');
    const hue = x.source === 'model' && x.reason === 'ok' ? '18,183,106' : x.reason === 'invalid_input' ? '247,144,9' : '240,68,56';
    r.append(el('td', null, x.pipeline), el('td', null, x.source), el('td', null, x.reason));
    for (const n of x.counts) {
      const c = el('td', 'cell', n === 0 ? '\\u00b7' : String(n));
      if (n > 0) c.style.background = 'rgba(' + hue + ',' + (0.15 + 0.6 * (n / max)).toFixed(2) + ')';
      r.append(c);
    }
    r.append(el('td', 'num', String(x.counts.reduce((a, b) => a + b, 0))));
    body.append(r);
  }
  t.append(body);
  fill('decisions', el('h2', null, 'Decisions by source and reason \\u2014 per minute, last ' + minutes.length + ' min'),
    series.length === 0 ? el('p', 'muted', 'No decisions in the last ' + minutes.length + ' minutes.') : t);
}
function renderModels(s) {
  const blocks = s.models.map((m) => {
    const card = m.card;
    const pairs = [['runtime', m.runtime], ['sha256', el('span', 'mono', m.sha256 || 'not loaded')],
      ['quantization', m.quantization || '\\u2014']];
    if (card) {
      if (card.task) pairs.push(['task', card.task]);
      if (card.metrics.length > 0) {
        pairs.push(['card metrics', card.metrics.map((x) => x.name + (x.name === card.headline ? ' \\u2605' : '') + ' ' +
          (Math.abs(x.value) < 10 ? x.value.toFixed(4) : String(x.value))).join(' \\u00b7 ')]);
      }
      if (card.evaluatedOn) pairs.push(['evaluated on', card.evaluatedOn]);
      if (card.sha256 && m.sha256 && card.sha256 !== m.sha256) pairs.push(['card', badge('describes another file', 'warn')]);
    } else {
      pairs.push(['card', el('span', 'muted', 'no model card')]);
    }
    pairs.push(['load', ms(m.loadMs)], ['queued / running', m.queued + ' / ' + m.inflight]);
    return el('div', 'model', el('h3', null, m.name), kv(pairs));
  });
  fill('models', el('h2', null, 'Models'), ...blocks);
}
function renderBroker(s) {
  const b = s.broker;
  const state = b.state === 'connected' ? badge('connected', 'ok') : b.state === 'connecting' ? badge('connecting', 'warn') : badge(b.state, 'bad');
  const session = b.sessionPresent === null ? '\\u2014' : b.sessionPresent ? 'resumed (the broker kept it)' : 'new';
  fill('broker', el('h2', null, 'Broker'), kv([['state', state], ['url', el('span', 'mono', b.url)], ['client id', el('span', 'mono', b.clientId)],
    ['protocol', b.protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1'], ['session', session],
    ['session expiry', b.protocolVersion === 5 ? b.sessionExpirySec + ' s' : 'kept by the broker'],
    ['connected since', clock(b.connectedSince)], ['connects', String(b.connects)],
    ['last disconnect', b.lastDisconnect ? clock(b.lastDisconnect.at) + ' (' + b.lastDisconnect.reason + ')' : 'none']]));
}
function renderInbox(s) {
  fill('inbox', el('h2', null, 'Inbox'),
    el('div', 'stat', el('div', 'big', String(s.inbox.undecided)), el('div', 'muted', 'awaiting a decision')),
    el('div', 'stat', el('div', 'big', String(s.inbox.unacknowledged)), el('div', 'muted', 'awaiting the broker')),
    kv([['state', el('span', 'mono', s.inbox.stateDir)], ['memory', (s.process.rssBytes / 1048576).toFixed(0) + ' MiB'],
      ['event-loop lag p99', ms(s.process.eventLoopLagP99Ms)]]));
}
function renderLlm(s) {
  if (s.llm === null) return fill('llm', el('h2', null, 'LLM runtime'), el('p', 'muted', 'no LLM pipeline'));
  const l = s.llm;
  fill('llm', el('h2', null, 'LLM runtime'), kv([['pipelines', l.pipelines.join(', ')], ['runtime', l.runtime || 'not loaded'],
    ['device', l.build || 'not loaded'], ['CPU variant', l.cpuVariant || (l.build ? 'one CPU library' : 'not loaded')],
    ['binaries', l.binaries || '\\u2014']]));
}
function renderDeadLetters(s) {
  const d = s.deadLetters;
  const codes = Object.entries(d.byCode).map(([c, n]) => c + ' \\u00d7 ' + n).join(' \\u00b7 ');
  fill('deadletters', el('h2', null, 'Dead letters \\u2014 code and topic only, never the payload'),
    el('p', null, d.total + ' since start' + (codes ? ': ' + codes : '')),
    d.recent.length === 0 ? null : table(['time', 'code', 'topic'],
      d.recent.map((x) => [clock(x.at), el('span', 'mono', x.code), el('span', 'mono', x.topic)])));
}
function render(s) {
  document.title = 'infergate ' + s.gateway.id;
  fill('gateway', s.gateway.id);
  fill('ready', s.gateway.ready ? badge('ready', 'ok') : badge('not ready', 'bad'));
  fill('meta', 'infergate ' + s.gateway.version + ' \\u00b7 node ' + s.gateway.node + ' \\u00b7 up ' + duration(s.gateway.uptimeSec) +
    ' \\u00b7 updated ' + clock(s.generatedAt));
  renderPipelines(s); renderDecisions(s); renderModels(s); renderBroker(s); renderInbox(s); renderLlm(s); renderDeadLetters(s);
}
async function refresh() {
  try {
    const response = await fetch('status.json', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    render(await response.json());
    lastOk = Date.now();
    document.getElementById('stale').style.display = 'none';
  } catch (error) {
    const stale = document.getElementById('stale');
    stale.textContent = 'The gateway does not answer (' + error.message + ')' + (lastOk ? '; last update ' + new Date(lastOk).toLocaleTimeString([], { hour12: false }) : '');
    stale.style.display = 'block';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>infergate status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>infergate \u00b7 <span id="gateway">\u2026</span></h1><span id="ready"></span><span class="spacer"></span><span class="meta" id="meta">loading\u2026</span></header>
<div id="stale"></div>
<main>
<section id="pipelines"><h2>Pipelines</h2></section>
<section id="decisions"><h2>Decisions</h2></section>
<section id="models"><h2>Models</h2></section>
<section id="broker"><h2>Broker</h2></section>
<section id="inbox"><h2>Inbox</h2></section>
<section id="llm"><h2>LLM runtime</h2></section>
<section id="deadletters"><h2>Dead letters</h2></section>
</main>
<footer>Refreshes every ${STATUS_REFRESH_MS / 1000} s from <a href="status.json">status.json</a> \u00b7 Prometheus: <a href="metrics">metrics</a> \u00b7 served by the gateway itself; nothing on this page comes from elsewhere</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;

function cspHash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

/** The page and the headers it must be served with. */
export const statusPage = Object.freeze({
  html: HTML,
  contentSecurityPolicy: [
    "default-src 'none'",
    `script-src ${cspHash(SCRIPT)}`,
    `style-src ${cspHash(STYLE)}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
});
