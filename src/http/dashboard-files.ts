/**
 * The dashboard's page and its scripts, styles and vendored chart library,
 * served as files (src/http/dashboard/ has no build step).
 *
 * Contract: each path answers its file with its content type, `cache-control:
 * no-cache` (a new release is fetched, a reload revalidates) and `nosniff`.
 * They hold nothing a caller could misuse, so the access policy serves them
 * to anyone (DASHBOARD_FILES' paths are among its open paths).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/http/dashboard/', import.meta.url));

/** Path → the file it answers and its content type. */
export const DASHBOARD_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: join(DASHBOARD_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/overlay.js': { file: join(DASHBOARD_DIR, 'overlay.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/editor.js': { file: join(DASHBOARD_DIR, 'editor.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/alarms.js': { file: join(DASHBOARD_DIR, 'alarms.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/falls.js': { file: join(DASHBOARD_DIR, 'falls.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/staleness.js': { file: join(DASHBOARD_DIR, 'staleness.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.js': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export function registerDashboardFiles(app: FastifyInstance): void {
  for (const [path, { file, type }] of Object.entries(DASHBOARD_FILES)) {
    app.get(path, async (_request, reply) =>
      reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(await readFile(file)),
    );
  }
}
