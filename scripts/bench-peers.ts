// The Node peers of `npm run bench`: the servers a user would pick instead of filegate,
// each as its documentation shows it, with no auth; and the Node ceiling (SPEC,
// Performance and resources): the least a node:http server must do for the same
// request, JWT included. Started by scripts/bench.ts as
//   node --import tsx scripts/bench-peers.ts <koa|fastify|ceiling> <port> <root>
// (the ceiling reads the HS256 secret from BENCH_JWT_SECRET) so that the process
// the bench samples is this node process itself.

import path from 'node:path';

const [kind, portText, rootArg] = process.argv.slice(2);
const port = Number(portText);
if ((kind !== 'koa' && kind !== 'fastify' && kind !== 'ceiling') || !Number.isInteger(port) || !rootArg) {
  process.stderr.write('usage: node --import tsx scripts/bench-peers.ts <koa|fastify|ceiling> <port> <root>\n');
  process.exit(2);
}
const root = path.resolve(rootArg);
const host = '127.0.0.1';

if (kind === 'koa') {
  // Koa + @koa/send: no Range, no conditional requests, one createReadStream per file.
  const { default: Koa } = await import('koa');
  const { send } = await import('@koa/send');
  const app = new Koa();
  app.use(async (ctx) => {
    await send(ctx, ctx.path, { root });
  });
  const server = app.listen(port, host, () => process.stdout.write(`koa listening on ${host}:${port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else if (kind === 'ceiling') {
  const secret = process.env.BENCH_JWT_SECRET;
  if (!secret) {
    process.stderr.write('ceiling: BENCH_JWT_SECRET is not set\n');
    process.exit(2);
  }
  // One request: verify the same HS256 token with the same library and options
  // filegate uses (the key imported once), refuse `..`, then open, fstat, read
  // (the whole file, or one `bytes=a-b` range) and close, and write the head with
  // one writeHead. No logging, no routing, no other confinement. The file calls
  // are node:fs's callback forms: the cheapest Node has (fs/promises' FileHandle
  // served about 25% fewer requests/s here), which is what a ceiling must use.
  const http = await import('node:http');
  const fs = await import('node:fs');
  const { createSecretKey } = await import('node:crypto');
  const { jwtVerify } = await import('jose');
  const mime = await import('mime-types');
  type Response = import('node:http').ServerResponse;
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const verifyOptions = { algorithms: ['HS256'], requiredClaims: ['exp'] };
  const fail = (res: Response, status: number, fd?: number) => {
    if (fd !== undefined) fs.close(fd, () => undefined);
    res.writeHead(status).end();
  };
  const serveFile = (res: Response, file: string, rangeHeader: string | undefined) => {
    fs.open(file, 'r', (openError, fd) => {
      if (openError) return fail(res, 404);
      fs.fstat(fd, (statError, stat) => {
        if (statError || !stat.isFile()) return fail(res, 404, fd);
        let range: [number, number] | null = null;
        const match = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader ?? '');
        if (match) {
          const first = Number(match[1]);
          const last = Math.min(match[2] === '' ? stat.size - 1 : Number(match[2]), stat.size - 1);
          if (first > last) {
            fs.close(fd, () => undefined);
            return void res.writeHead(416, { 'Content-Range': `bytes */${stat.size}` }).end();
          }
          range = [first, last];
        }
        const [first, last] = range ?? [0, stat.size - 1];
        const body = Buffer.allocUnsafe(last - first + 1);
        // One read: a regular file in the page cache gives the whole (small) span at once.
        fs.read(fd, body, 0, body.length, first, (readError, bytesRead) => {
          fs.close(fd, (closeError) => {
            if (readError || closeError || bytesRead !== body.length) return fail(res, 500);
            const headers: Record<string, string | number> = {
              ETag: `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`,
              'Last-Modified': stat.mtime.toUTCString(),
              'Content-Type': mime.contentType(path.extname(file)) || 'application/octet-stream',
              'Content-Length': body.length,
              'Accept-Ranges': 'bytes',
            };
            if (range) headers['Content-Range'] = `bytes ${range[0]}-${range[1]}/${stat.size}`;
            res.writeHead(range ? 206 : 200, headers);
            res.end(body);
          });
        });
      });
    });
  };
  const server = http.createServer((req, res) => {
    const authorization = req.headers.authorization;
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return fail(res, 401);
    jwtVerify(authorization.slice(7), key, verifyOptions).then(
      () => {
        const url = req.url ?? '/';
        const query = url.indexOf('?');
        let relative: string;
        try {
          relative = decodeURIComponent(query === -1 ? url : url.slice(0, query));
        } catch {
          return fail(res, 400);
        }
        if (relative.split('/').includes('..')) return fail(res, 400);
        serveFile(res, path.join(root, relative), req.headers.range);
      },
      () => fail(res, 401),
    );
  });
  server.listen(port, host, () => process.stdout.write(`ceiling listening on ${host}:${port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  // Fastify + @fastify/static (on @fastify/send): Range, ETag, Last-Modified, no multipart ranges.
  const { default: Fastify } = await import('fastify');
  const { default: fastifyStatic } = await import('@fastify/static');
  const app = Fastify({ logger: false });
  await app.register(fastifyStatic, { root });
  await app.listen({ port, host });
  process.stdout.write(`fastify listening on ${host}:${port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
