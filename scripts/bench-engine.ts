// The object store of `npm run bench`: what the bench needs to read the engine (radosgw, started by scripts/radosgw/start.sh) directly, as a client of it would: its address and daemons, presigned URLs, streamed uploads, and its own request counters.

import { readdirSync, readFileSync, createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import aws4 from 'aws4';
import { createEngineClient, type EngineClient } from '../src/layers/s3/engine-client.js';
import { encodeKeyPath } from '../src/layers/s3/object-key.js';

/** A running engine, as scripts/radosgw/start.sh DIR printed it. */
export interface Engine {
  /** The engine's folder (config, logs, PID files, admin sockets). */
  readonly dir: string;
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** `127.0.0.1:PORT`: the Host header every signature covers. */
  readonly host: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly bucket: string;
  /** radosgw, ceph-osd and ceph-mon: the engine's whole CPU. */
  readonly pids: { readonly rgw: number; readonly osd: number; readonly mon: number };
}

/**
 * The engine that start.sh's output (`S3_ENDPOINT=…` lines) describes, with
 * the PIDs of its daemons from DIR/run; `bucket` is the bucket the bench uses.
 * Raises when a line or a PID file is missing.
 */
export function toEngine(dir: string, startOutput: string, bucket: string): Engine {
  const env = new Map<string, string>();
  for (const line of startOutput.trim().split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env.set(line.slice(0, at), line.slice(at + 1));
  }
  const field = (name: string): string => {
    const value = env.get(name);
    if (!value) throw new Error(`scripts/radosgw/start.sh printed no ${name}`);
    return value;
  };
  const pid = (name: string): number => {
    const value = Number(readFileSync(path.join(dir, 'run', `${name}.pid`), 'utf8').trim());
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${dir}/run/${name}.pid holds no PID`);
    return value;
  };
  const endpoint = field('S3_ENDPOINT');
  return {
    dir,
    endpoint,
    host: new URL(endpoint).host,
    region: field('S3_REGION'),
    credentials: { accessKeyId: field('S3_ACCESS_KEY'), secretAccessKey: field('S3_SECRET_KEY') },
    bucket,
    pids: { rgw: pid('rgw'), osd: pid('osd'), mon: pid('mon') },
  };
}

/** A client of the engine's bucket (the one filegate uses too), for uploads. */
export function engineClientOf(engine: Engine): EngineClient {
  return createEngineClient({ endpoint: engine.endpoint, region: engine.region, bucket: engine.bucket, forcePathStyle: true, credentials: engine.credentials });
}

/** The path (with its query) of a presigned request for `key` in the bench's bucket, valid for `expiresS` seconds. */
export function presignedPath(engine: Engine, method: 'GET' | 'PUT', key: string, expiresS = 6 * 3600): string {
  // aws4 presigns (X-Amz-* in the query, UNSIGNED-PAYLOAD for s3) when signQuery is set;
  // the path is signed as given, and the key is encoded as the engine client encodes it.
  const signed = aws4.sign(
    { host: engine.host, path: `/${encodeKeyPath(engine.bucket)}/${encodeKeyPath(key)}?X-Amz-Expires=${expiresS}`, method, service: 's3', region: engine.region, signQuery: true },
    engine.credentials,
  );
  return signed.path!;
}

/** A presigned URL for `key`: what a client reading the engine directly (curl, wrk) asks for. */
export function presignedUrl(engine: Engine, method: 'GET' | 'PUT', key: string, expiresS?: number): string {
  return `${engine.endpoint}${presignedPath(engine, method, key, expiresS)}`;
}

/**
 * Uploads `file` as `key` in one streamed PUT on a presigned URL (the engine
 * client's `put` takes a Buffer; a 1 GiB Buffer is not what a bench should
 * hold). Raises unless the engine answers 200.
 */
export function putFile(engine: Engine, key: string, file: string, timeoutMs = 300_000): Promise<void> {
  const size = statSync(file).size;
  const url = new URL(engine.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: url.hostname, port: url.port, method: 'PUT', path: presignedPath(engine, 'PUT', key), headers: { 'content-length': size }, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk.slice(0, 2000)));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: ${res.statusCode} ${body.slice(0, 300)}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`PUT ${key}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    createReadStream(file).on('error', reject).pipe(req);
  });
}

/** Stores every `[key, body]`, `concurrency` at a time. */
export async function putObjects(client: EngineClient, objects: ReadonlyArray<readonly [string, Buffer]>, concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < objects.length) {
        const [key, body] = objects[next++]!;
        await client.put(key, body);
      }
    }),
  );
}

/** radosgw's own counters (`perf dump` on its admin socket): requests answered, GETs, failures. */
export interface EngineCounters {
  readonly requests: number;
  readonly gets: number;
  readonly failed: number;
}

/**
 * Reads radosgw's counters through its admin socket (DIR/run/client.rgw.PID.asok),
 * speaking the socket's protocol directly (a JSON command and a NUL; the answer is
 * a 4-byte big-endian length and JSON): the `ceph` CLI is a Python start-up per call.
 * Resolves null when the socket cannot be read.
 */
export function engineCounters(engine: Engine, timeoutMs = 5000): Promise<EngineCounters | null> {
  let socketPath: string;
  try {
    const name = readdirSync(path.join(engine.dir, 'run')).find((file) => file === `client.rgw.${engine.pids.rgw}.asok`);
    if (name === undefined) return Promise.resolve(null);
    socketPath = path.join(engine.dir, 'run', name);
  } catch {
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(socketPath);
    const finish = (value: EngineCounters | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => finish(null));
    socket.on('error', () => finish(null));
    socket.on('connect', () => socket.write('{"prefix":"perf dump"}\0'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length < 4 || all.length < 4 + all.readUInt32BE(0)) return;
      try {
        const rgw = (JSON.parse(all.subarray(4, 4 + all.readUInt32BE(0)).toString('utf8')) as { rgw?: Record<string, unknown> }).rgw ?? {};
        finish({ requests: Number(rgw.req), gets: Number(rgw.get), failed: Number(rgw.failed_req) });
      } catch {
        finish(null);
      }
    });
  });
}
