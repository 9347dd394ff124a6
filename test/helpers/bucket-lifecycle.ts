// Puts and reads a bucket's lifecycle configuration on the test engine (PutBucketLifecycleConfiguration, SigV4-signed), so a test applies the rule an operator copies.

import aws4 from 'aws4';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { ObjectStore } from './object-store.js';

/** Stores `xml` (a `<LifecycleConfiguration>` document) as `bucket`'s lifecycle configuration; rejects with the engine's answer when it is refused. */
export async function putBucketLifecycle(store: ObjectStore, bucket: string, xml: string): Promise<void> {
  const body = Buffer.from(xml, 'utf8');
  // S3 requires an integrity header on this call; Content-MD5 is the one every engine takes.
  const headers = { 'Content-Type': 'application/xml', 'Content-MD5': createHash('md5').update(body).digest('base64'), 'Content-Length': String(body.length) };
  const answer = await signedRequest(store, 'PUT', bucket, headers, body);
  if (answer.status !== 200) throw new Error(`PutBucketLifecycleConfiguration answered ${answer.status}: ${answer.body}`);
}

/** The bucket's lifecycle configuration as the engine reads it back (XML). */
export async function getBucketLifecycle(store: ObjectStore, bucket: string): Promise<string> {
  const answer = await signedRequest(store, 'GET', bucket, {}, undefined);
  if (answer.status !== 200) throw new Error(`GetBucketLifecycleConfiguration answered ${answer.status}: ${answer.body}`);
  return answer.body;
}

function signedRequest(store: ObjectStore, method: 'GET' | 'PUT', bucket: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; body: string }> {
  const endpoint = new URL(store.endpoint);
  const signed = aws4.sign(
    { host: endpoint.host, path: `/${bucket}?lifecycle=`, method, service: 's3', region: store.region, headers: { ...headers }, ...(body === undefined ? {} : { body }) },
    { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
  );
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname: endpoint.hostname, port: endpoint.port, method, path: signed.path, headers: signed.headers as http.OutgoingHttpHeaders },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
