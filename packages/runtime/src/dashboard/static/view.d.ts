// Types of view.js (plain browser JavaScript), for the unit tests that run it in Node.
import type { DashboardData } from '../data.ts';

export interface Html {
  readonly html: string;
}
export function escapeHtml(value: unknown): string;
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html;
export function formatInt(n: number | null | undefined): string;
export function formatRate(n: number | null | undefined): string;
export function formatTime(iso: string | null | undefined): string;
export function niceCeil(n: number): number;
export function renderWorker(data: DashboardData): Html;
export function renderConnectors(data: DashboardData): Html;
export function renderThroughput(data: DashboardData): Html;
export function renderDeadLetters(data: DashboardData): Html;
export function renderAlerts(data: DashboardData): Html;
export function renderDashboard(data: DashboardData): {
  worker: string;
  connectors: string;
  throughput: string;
  deadLetters: string;
  alerts: string;
};
