// Renders the dashboard's data (GET /dashboard/data) to HTML strings. Plain browser JavaScript, no build
// step; pure functions (no DOM), so the unit tests run them in Node. Alerts carry user-controlled text:
// every value goes through the `html` template tag, which escapes anything that is not a fragment it
// produced itself, so forgetting to escape takes effort. Types: view.d.ts.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside element content and double- or single-quoted attribute values. */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Fragments made by `html` are remembered by identity: a look-alike object arriving in the JSON data
// ({ html: '<script>' }) is escaped like any other value.
const trusted = new WeakSet();

function fragment(text) {
  const f = Object.freeze({ html: text });
  trusted.add(f);
  return f;
}

function part(v) {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(part).join('');
  if (typeof v === 'object' && trusted.has(v)) return v.html;
  return escapeHtml(v);
}

/** Template tag: interpolated values are escaped, fragments from `html` and arrays of them are not. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return fragment(out);
}

export function formatInt(n) {
  return n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
}

export function formatRate(n) {
  if (n === null || n === undefined) return '–';
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

/** `2026-11-24 10:00:01Z`: ISO without the milliseconds, easy to compare with Kafka tools. */
export function formatTime(iso) {
  return iso
    ? String(iso)
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '–';
}

function ago(iso, nowIso) {
  const s = Math.round((Date.parse(nowIso) - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

const TASK_STATES = ['UNASSIGNED', 'STARTING', 'RUNNING', 'RESTARTING', 'PAUSED', 'FAILED', 'FINISHED'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

/** A CSS class from a fixed list: data never chooses a class name of its own. */
function pick(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

export function renderWorker(data) {
  const w = data.worker;
  return html`worker <code>${w.id}</code> · ${w.mode} · up since ${formatTime(w.startedAt)}`;
}

function renderLag(lag) {
  if (!lag.length) return html`<span class="muted">–</span>`;
  return lag.map(
    (l, i) => html`${i ? ', ' : ''}<span class="mono">${l.partition}</span>: ${formatInt(l.value)}`,
  );
}

function renderTasks(c) {
  if (!c.tasks.length) return html`<span class="muted">no tasks</span>`;
  return html`<table class="tasks">
    ${c.tasks.map(
      (t) =>
        html`<tr data-task="${t.id}">
          <td>#${t.id}</td>
          <td class="state state-${pick(t.state, TASK_STATES, 'UNASSIGNED')}">${t.state}</td>
          <td class="mono">
            ${t.worker ?? 'unassigned'}${t.here ? html` <span class="muted">(here)</span>` : ''}
          </td>
          <td class="num">
            ${t.here ? html`${formatInt(t.records)} records` : html`<span class="muted">elsewhere</span>`}
          </td>
          <td>${t.lastError ? html`<span class="error">${t.lastError}</span>` : ''}</td>
        </tr>`,
    )}
  </table>`;
}

export function renderConnectors(data) {
  if (!data.connectors.length) return html`<p class="muted">No connectors configured.</p>`;
  return html`<table class="connectors">
    <thead>
      <tr>
        <th>connector</th>
        <th>type</th>
        <th>target</th>
        <th class="num">records</th>
        <th class="num">records/s</th>
        <th>lag</th>
        <th class="num">dead letters</th>
        <th>tasks (state, worker, records)</th>
      </tr>
    </thead>
    <tbody>
      ${data.connectors.map(
        (c) =>
          html`<tr data-connector="${c.name}">
            <td><strong>${c.name}</strong></td>
            <td>${c.type}</td>
            <td>${c.target}</td>
            <td class="num" data-testid="records">${formatInt(c.records)}</td>
            <td class="num" data-testid="rate">${formatRate(c.perSec)}</td>
            <td>${renderLag(c.lag)}</td>
            <td class="num" data-testid="dead-letters">${formatInt(c.deadLetters)}</td>
            <td>${renderTasks(c)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** 1, 2 or 5 times a power of ten, at least `n`: readable axis labels. */
export function niceCeil(n) {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function renderThroughput(data) {
  const W = 900;
  const H = 220;
  const left = 56;
  const right = 10;
  const top = 10;
  const bottom = 24;
  const now = Date.parse(data.worker.now);
  const from = now - data.worker.windowMs;
  const series = data.throughput.filter((s) => s.points.length > 0);
  if (!series.length)
    return html`<p class="muted">Collecting samples (every ${data.worker.sampleMs / 1000} s)…</p>`;
  const max = niceCeil(Math.max(...series.flatMap((s) => s.points.map((p) => p[1]))));
  const x = (t) => left + ((t - from) / (now - from)) * (W - left - right);
  const y = (v) => top + (1 - v / max) * (H - top - bottom);
  const minutes = Math.round(data.worker.windowMs / 60000);
  return html`<svg
      class="chart"
      viewBox="0 0 ${W} ${H}"
      role="img"
      aria-label="records per second per connector"
    >
      <line class="axis" x1="${left}" y1="${y(0)}" x2="${W - right}" y2="${y(0)}" />
      <line class="axis" x1="${left}" y1="${y(max)}" x2="${W - right}" y2="${y(max)}" />
      <line class="axis" x1="${left}" y1="${y(max / 2)}" x2="${W - right}" y2="${y(max / 2)}" />
      <text x="${left - 6}" y="${y(max) + 4}" text-anchor="end">${formatRate(max)}</text>
      <text x="${left - 6}" y="${y(max / 2) + 4}" text-anchor="end">${formatRate(max / 2)}</text>
      <text x="${left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>
      <text x="${left}" y="${H - 6}">${minutes} min ago</text>
      <text x="${W - right}" y="${H - 6}" text-anchor="end">now</text>
      ${series.map(
        (s, i) =>
          html`<polyline
            class="s${i % 8}"
            data-connector="${s.connector}"
            points="${s.points
              .filter((p) => p[0] >= from)
              .map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
              .join(' ')}"
          />`,
      )}
    </svg>
    <div class="legend">
      ${series.map(
        (s, i) =>
          html`<span
            ><span class="swatch s${i % 8}"></span>${s.connector}:
            ${formatRate(s.points[s.points.length - 1][1])} records/s</span
          >`,
      )}
    </div>`;
}

export function renderDeadLetters(data) {
  const { counts, recent } = data.deadLetters;
  if (!counts.length)
    return html`<p class="muted">No dead letters committed on this worker since it started.</p>`;
  return html`<table class="dl-counts">
      <thead>
        <tr>
          <th>connector</th>
          <th class="num">dead letters</th>
          <th>by reason</th>
        </tr>
      </thead>
      <tbody>
        ${counts.map(
          (c) =>
            html`<tr data-connector="${c.connector}">
              <td>${c.connector}</td>
              <td class="num">${formatInt(c.total)}</td>
              <td>
                ${Object.entries(c.byReason).map(
                  ([reason, n], i) => html`${i ? ', ' : ''}<code>${reason}</code>: ${formatInt(n)}`,
                )}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3 class="muted">Latest</h3>
    <table class="dl-recent">
      <thead>
        <tr>
          <th>time</th>
          <th>connector / task</th>
          <th>reason</th>
          <th>error</th>
          <th>source ref</th>
        </tr>
      </thead>
      <tbody>
        ${recent.map(
          (d) =>
            html`<tr>
              <td>${formatTime(d.at)}</td>
              <td>${d.connector} #${d.task}</td>
              <td><code>${d.reason}</code></td>
              <td class="error">${d.error}</td>
              <td class="mono">${d.sourceRef}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function renderAlert(a, nowIso) {
  const sev = pick(a.severity, SEVERITIES, 'low');
  return html`<article class="alert sev-${sev}" data-alert-id="${a.alertId}">
    <div class="head">
      <span class="sev">${a.severity} ${a.score}</span>
      <span
        >rule
        <code class="rule">${a.ruleId}</code>
        v${a.ruleVersion}${a.mode === 'test' ? ' (test mode)' : ''}</span
      >
      <span>entity <code class="entity">${a.entity}</code></span>
      <span title="${a.time}">${formatTime(a.time)} (${ago(a.time, nowIso)})</span>
    </div>
    <p class="summary">${a.summary}</p>
    ${
      a.labels.length
        ? html`<p class="muted">
            ${a.labels.map(
              (l, i) =>
                html`${i ? '; ' : ''}${l.label}: <code>${l.entity}</code> (${l.entityType},
                  ${Math.round(l.confidence * 100)}%)`,
            )}
          </p>`
        : ''
    }
    <table class="evidence">
      <thead>
        <tr>
          <th>evidence topic</th>
          <th class="num">partition</th>
          <th class="num">offset</th>
          <th>id</th>
          <th>summary</th>
        </tr>
      </thead>
      <tbody>
        ${a.evidence.map(
          (e) =>
            html`<tr>
              <td class="mono">${e.topic}</td>
              <td class="num">${e.partition}</td>
              <td class="num mono">${e.offset}</td>
              <td class="mono">${e.id}</td>
              <td>${e.summary}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      a.evidenceTotal > a.evidence.length
        ? html`<p class="muted">and ${a.evidenceTotal - a.evidence.length} more evidence events</p>`
        : ''
    }
    <p class="muted">
      alert <span class="mono">${a.alertId}</span> at partition ${a.record.partition}, offset
      ${a.record.offset}
    </p>
  </article>`;
}

export function renderAlerts(data) {
  const s = data.alerts;
  if (!s)
    return html`<p class="muted">
      No alerts topic configured: set <code>worker.dashboard.alertsTopic</code> to show the latest alerts.
    </p>`;
  const status = html`<p class="muted" data-testid="alerts-status">
    topic <code>${s.topic}</code>: ${s.state}${s.error ? html` (<span class="error">${s.error}</span>)` : ''}
    · ${formatInt(s.received)} received · showing the latest ${s.keep}
    ${
      s.undecodable.count
        ? html` · ${formatInt(s.undecodable.count)} not valid alerts (last:
            <span class="error">${s.undecodable.lastError}</span>)`
        : ''
    }
  </p>`;
  if (!s.alerts.length)
    return html`${status}
      <p class="muted">No alerts yet.</p>`;
  return html`${status}${s.alerts.map((a) => renderAlert(a, data.worker.now))}`;
}

/** Every section of the page, as HTML strings. */
export function renderDashboard(data) {
  return {
    worker: renderWorker(data).html,
    connectors: renderConnectors(data).html,
    throughput: renderThroughput(data).html,
    deadLetters: renderDeadLetters(data).html,
    alerts: renderAlerts(data).html,
  };
}
