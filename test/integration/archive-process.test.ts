// The real service while it serves archives: nothing on stderr (no MaxListenersExceededWarning), and flat memory for a tar.gz of a large file.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { truncateSync } from 'node:fs';
import { rssGrowthDuring, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { hsToken } from '../helpers/tokens.js';

const HUGE = 256 * 1024 ** 2;

describe('the service process serving archives', () => {
  let tree: TempDir;
  let child: ChildServer;
  let token: string;

  before(async () => {
    tree = tempDir('filegate-archive-stderr-');
    // A few dozen small files (read whole), some in subfolders, and a few streamed ones (over 64 KB).
    for (let index = 0; index < 36; index += 1) tree.file(`data/set/${index % 3 === 0 ? 'sub/' : ''}small-${index}.txt`, `file ${index}\n`);
    for (let index = 0; index < 4; index += 1) tree.file(`data/set/large-${index}.bin`, randomBytes(100 * 1024 + index));
    // Sparse: cheap to make, and gzip at level 1 gets through its zeros quickly.
    truncateSync(tree.file('data/huge/huge.bin', ''), HUGE);
    // The per-subject concurrency cap on, as by default: its slot is one more listener on every response.
    child = await startChildServer(
      { layers: { OsFs: { root: `${tree.dir}/data`, maxFileSize: '1GB' } }, archive: { gzipLevel: 1 }, limits: { concurrentPerSubject: 8 }, cors: { origins: ['https://app.example'] } },
      `${tree.dir}/config.json`,
    );
    token = await hsToken({ scope: 'files:read files:archive' });
  });

  after(async () => {
    await child?.stop();
    tree?.remove();
  });

  it('prints nothing on stderr after ZIPs and tar.gz archives, one at a time and several at once (regression: a MaxListenersExceededWarning per archive)', async () => {
    const fetchArchive = async (format: string) => {
      const response = await fetch(`${child.url}/api/archive?path=set&format=${format}`, { headers: { Authorization: `Bearer ${token}`, Origin: 'https://app.example' } });
      const body = await response.arrayBuffer();
      expect(response.status, format).to.equal(200);
      return body.byteLength;
    };
    for (const format of ['zip', 'tar.gz', 'zip', 'tar.gz']) expect(await fetchArchive(format)).to.be.above(400 * 1024);
    const together = await Promise.all(['zip', 'tar.gz', 'zip', 'tar.gz'].map(fetchArchive));
    expect(together).to.have.length(4);
    // The access lines are written when each response closes; wait until all eight are out.
    const deadline = Date.now() + 5000;
    while (child.logs().filter((line) => line.msg === 'request' && line.route === '/api/archive').length < 8 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(child.logs().filter((line) => line.msg === 'request' && line.route === '/api/archive')).to.have.length(8);
    expect(child.stderr()).to.equal('');
  });

  it("streams a tar.gz of a 256 MB file without growing the server's RSS by more than 64 MB (regression: archiver's tar collected each streamed file in memory)", async () => {
    const download = () =>
      new Promise<number>((resolve, reject) => {
        const request = http.get(`${child.url}/api/archive?path=huge&format=tar.gz`, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
          });
          response.on('end', () => resolve(received));
          response.on('error', reject);
        });
        request.on('error', reject);
      });
    // Measured from the first such archive: memory a collected file once took stays with the process, and would hide a second one.
    const { result: received, grewBy } = await rssGrowthDuring(child, download);
    expect(received).to.be.above(0);
    expect(grewBy, `the server's RSS grew by ${(grewBy / 1024 ** 2).toFixed(1)} MB`).to.be.at.most(64 * 1024 ** 2);
    expect(child.stderr()).to.equal('');
  });
});
