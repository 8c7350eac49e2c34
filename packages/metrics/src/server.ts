import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasMethods } from './source';

/** What {@link serveMetrics} needs from a registry; every prom-client `Registry` has it. */
export interface ScrapeTarget {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** Interface to listen on. Default `127.0.0.1` (local only); `0.0.0.0` or `::` for every interface. */
  host?: string;
  /** TCP port. Default 9464 (Prometheus' registered port for exporters like this one); 0 = any free port. */
  port?: number;
  /** Path of the scrape endpoint. Default `/metrics`. */
  path?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where to scrape, e.g. `http://127.0.0.1:9464/metrics` (with the actual port when 0 was asked). */
  readonly url: string;
  /** Stops listening and closes open (keep-alive) connections. Idempotent. */
  close(): Promise<void>;
}

/** Defaults of {@link serveMetrics}. */
export const DEFAULT_SERVE_OPTIONS: Readonly<Required<ServeMetricsOptions>> = Object.freeze({
  host: '127.0.0.1',
  port: 9464,
  path: '/metrics',
});

/**
 * Serves a registry in the Prometheus text format over HTTP with `node:http`.
 *
 * `GET` (and `HEAD`) on the path answers 200 with `registry.contentType`; other methods on the path
 * answer 405, other paths 404, and a failing collection 500.
 *
 * @returns once the server listens; rejects when it cannot (e.g. `EADDRINUSE`).
 */
export async function serveMetrics(
  registry: ScrapeTarget,
  options: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  if (!hasMethods(registry, ['metrics'])) {
    throw new TypeError(
      'serveMetrics takes a prom-client Registry (an object with metrics() and contentType)',
    );
  }
  const host = options.host ?? DEFAULT_SERVE_OPTIONS.host;
  const port = options.port ?? DEFAULT_SERVE_OPTIONS.port;
  const path = options.path ?? DEFAULT_SERVE_OPTIONS.path;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`path must start with "/", got ${JSON.stringify(path)}`);
  }

  const server = createServer((req, res) => {
    void handle(registry, path, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${bound}${path}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  registry: ScrapeTarget,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  if ((query < 0 ? url : url.slice(0, query)) !== path) {
    return reply(res, 404, 'Not Found\n');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'Method Not Allowed\n');
  }
  let body: string;
  try {
    body = await registry.metrics();
  } catch (err) {
    return reply(
      res,
      500,
      `Failed to collect metrics: ${err instanceof Error ? err.message : String(err)}\n`,
    );
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', registry.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** The host part of a URL: unspecified addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
