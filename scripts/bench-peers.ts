// The Node peers of `npm run bench`: the servers a user would pick instead of filegate,
// each as its documentation shows it, with no auth. Started by scripts/bench.ts as
//   node --import tsx scripts/bench-peers.ts <koa|fastify> <port> <root>
// so that the process the bench samples is this node process itself.

import path from 'node:path';

const [kind, portText, rootArg] = process.argv.slice(2);
const port = Number(portText);
if ((kind !== 'koa' && kind !== 'fastify') || !Number.isInteger(port) || !rootArg) {
  process.stderr.write('usage: node --import tsx scripts/bench-peers.ts <koa|fastify> <port> <root>\n');
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
