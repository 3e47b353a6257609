// The dashboard page: polls GET /dashboard/data and renders each section with view.js. Only HTML built by
// view.js's escaping `html` tag is assigned to innerHTML.
import { renderDashboard } from './view.js';

const POLL_MS = 1500;
const sections = {
  worker: document.getElementById('worker'),
  connectors: document.getElementById('connectors'),
  throughput: document.getElementById('throughput'),
  deadLetters: document.getElementById('dead-letters'),
  alerts: document.getElementById('alerts'),
};
const live = document.getElementById('live');
// What each section shows now: a section is replaced only when its HTML changed, so a text selection in
// an alert survives the polls that bring nothing new.
const shown = {};

function setLive(state, text) {
  live.dataset.state = state;
  live.textContent = text;
}

async function poll() {
  try {
    const res = await fetch('/dashboard/data', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const html = renderDashboard(data);
    for (const [key, el] of Object.entries(sections)) {
      if (shown[key] === html[key]) continue;
      el.innerHTML = html[key];
      shown[key] = html[key];
    }
    setLive('live', `live · ${new Date(data.worker.now).toLocaleTimeString()}`);
  } catch (err) {
    setLive('stale', `not updating: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
