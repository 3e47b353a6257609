// HTTP for the dashboard: the page, its script and stylesheet (plain files next to this module, no build
// step) and the JSON the page polls. The page renders alerts, which carry user-controlled text; besides
// escaping every value, it is served with a Content-Security-Policy that runs only these files, so
// an escaping slip could not run injected script.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Control } from '../operator.ts';
import type { Dashboard } from './index.ts';

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/view.js': { file: 'view.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/dashboard/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

export const DATA_PATH = '/dashboard/data';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function isDashboardPath(pathname: string): boolean {
  return pathname === DATA_PATH || Object.hasOwn(STATIC, pathname);
}

/** Answers a dashboard path (see `isDashboardPath`). */
export async function serveDashboard(
  dashboard: Dashboard,
  control: Control,
  method: string,
  pathname: string,
  res: ServerResponse,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end(`${method} not allowed here (use GET)\n`);
    return;
  }
  if (pathname === DATA_PATH) {
    const body = JSON.stringify(await dashboard.snapshot(control));
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...SECURITY_HEADERS,
    });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  const asset = STATIC[pathname]!;
  // Read per request: a handful of small files, fetched once per page load.
  const body = await readFile(new URL(`./static/${asset.file}`, import.meta.url));
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
  res.end(method === 'HEAD' ? undefined : body);
}
