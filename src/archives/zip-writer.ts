// Writes a ZIP file as a stream, entry after entry, keeping only a compact central directory in memory.

import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, deflateRaw } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

// Record signatures and sizes (PKWARE APPNOTE 6.3.10, §4.3).
const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const LOCAL_HEADER_BYTES = 30;
const CENTRAL_HEADER_BYTES = 46;
const ZIP64_END_BYTES = 56;
const ZIP64_LOCATOR_BYTES = 20;
const END_BYTES = 22;

// General purpose flags: bit 3, sizes and CRC follow the data; bit 11, names are UTF-8 (§4.4.4).
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
// "Version made by": Unix (3) in the high byte, so external attributes carry the mode; 4.5 for ZIP64.
const MADE_BY = (3 << 8) | 45;
const NEEDS_DEFAULT = 20;
const NEEDS_ZIP64 = 45;

const EXTRA_ZIP64 = 0x0001;
// Extended timestamp (Info-ZIP "UT"): the modification time in UTC, to the second.
const EXTRA_TIMESTAMP = 0x5455;
const TIMESTAMP_EXTRA_BYTES = 9;

const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;
// A streamed entry is declared ZIP64 from its expected size, before its data is
// read; deflate can grow incompressible data slightly, hence the margin.
const ZIP64_STREAM_THRESHOLD = MAX_U32 - 16 * 1024 * 1024;

// Headers and small entries are gathered into output blocks of this size:
// a few dozen writes a second instead of three per entry.
const BLOCK_BYTES = 64 * 1024;

export interface ZipWriterOptions {
  /** Deflate entries; otherwise they are stored as they are. */
  readonly deflate: boolean;
  /** zlib level when deflating. */
  readonly level?: number;
  /** Writes every file entry with ZIP64 records, whatever its size (for tests of readers). */
  readonly forceZip64?: boolean;
}

/** One entry's central directory facts, until the directory is written. */
interface EntryRecord {
  readonly name: Buffer;
  readonly directory: boolean;
  readonly method: number;
  readonly flags: number;
  readonly mode: number;
  readonly mtime: Date;
  readonly dosTime: number;
  readonly dosDate: number;
  readonly offset: number;
  readonly zip64: boolean;
  crc: number;
  compressedSize: number;
  size: number;
}

/**
 * A readable ZIP stream that entries are added to one at a time: each `add*`
 * resolves once the entry is handed on (or the stream was destroyed), and
 * `finish` writes the central directory. Only a packed central directory is
 * kept between entries, about 100 bytes an entry, so the memory of an
 * archive does not grow with its number of files as archiver's does. Names
 * are written as UTF-8 with the language-encoding flag; sizes, offsets and
 * counts past the 32- and 16-bit fields go into ZIP64 records (§4.5.3, §4.3.14).
 * Names are taken as given: callers pass validated relative names.
 */
export class ZipWriter extends Readable {
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private used = 0;
  private offset = 0;
  private entries = 0;
  /** The central directory so far: full blocks, then the block being filled. */
  private directory: Buffer[] = [];
  private directoryBlock = Buffer.alloc(0);
  private directoryUsed = 0;
  private directoryBytes = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly options: ZipWriterOptions) {
    super();
  }

  /** The stream to read the archive from: the writer itself. */
  get output(): Readable {
    return this;
  }

  override _read(): void {
    this.resume_();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.resume_();
    callback(error);
  }

  /** Adds a folder entry; `name` ends with "/". */
  async addDirectory(name: string, mtime: Date): Promise<void> {
    const record = this.record(name, true, 0o755, mtime, METHOD_STORE, 0, false);
    record.crc = 0;
    await this.writeLocalHeader(record);
    this.seal(record);
  }

  /** Adds a file entry whose whole content is in `data`. */
  async addBuffer(name: string, data: Buffer, mtime: Date): Promise<void> {
    const deflate = this.options.deflate && data.length > 0;
    const stored = deflate ? await deflateRawAsync(data, { level: this.options.level }) : data;
    const record = this.record(name, false, 0o644, mtime, deflate ? METHOD_DEFLATE : METHOD_STORE, 0, this.options.forceZip64 === true);
    record.crc = crc32(data);
    record.size = data.length;
    record.compressedSize = stored.length;
    await this.writeLocalHeader(record);
    await this.write_(stored);
    this.seal(record);
  }

  /**
   * Adds a file entry read from `source`, of `expectedSize` bytes (it decides
   * whether the entry needs ZIP64 before the data is read). Sizes and CRC
   * follow the data in a data descriptor. Rejects with the source's error;
   * the stream is then unusable and should be destroyed.
   */
  async addStream(name: string, source: Readable, expectedSize: number, mtime: Date): Promise<void> {
    const deflate = this.options.deflate;
    const zip64 = this.options.forceZip64 === true || expectedSize >= ZIP64_STREAM_THRESHOLD;
    const record = this.record(name, false, 0o644, mtime, deflate ? METHOD_DEFLATE : METHOD_STORE, FLAG_DATA_DESCRIPTOR, zip64);
    await this.writeLocalHeader(record);
    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    const compressor = deflate ? createDeflateRaw({ level: this.options.level }) : null;
    try {
      const data = compressor ? source.pipe(compressor) : source;
      if (compressor) source.once('error', (error) => compressor.destroy(error));
      if (compressor) {
        source.on('data', (chunk: Buffer) => {
          crc = crc32(chunk, crc);
          size += chunk.length;
        });
      }
      for await (const chunk of data as AsyncIterable<Buffer>) {
        if (this.destroyed) break;
        if (!compressor) {
          crc = crc32(chunk, crc);
          size += chunk.length;
        }
        compressedSize += chunk.length;
        await this.write_(chunk);
      }
    } finally {
      if (!source.destroyed) source.destroy();
      compressor?.destroy();
    }
    record.crc = crc;
    record.size = size;
    record.compressedSize = compressedSize;
    await this.writeDataDescriptor(record);
    this.seal(record);
  }

  /** Writes the central directory and the end records, and ends the stream. */
  async finish(): Promise<void> {
    const start = this.offset;
    const size = this.directoryBytes;
    const parts = [...this.directory, this.directoryBlock.subarray(0, this.directoryUsed)];
    this.directory = [];
    this.directoryBlock = Buffer.alloc(0);
    for (const part of parts) await this.write_(part);
    const zip64 = this.entries > MAX_U16 || start >= MAX_U32 || size >= MAX_U32 || this.options.forceZip64 === true;
    if (zip64) {
      const end = this.offset;
      const record = Buffer.alloc(ZIP64_END_BYTES + ZIP64_LOCATOR_BYTES);
      record.writeUInt32LE(ZIP64_END, 0);
      record.writeBigUInt64LE(BigInt(ZIP64_END_BYTES - 12), 4);
      record.writeUInt16LE(MADE_BY, 12);
      record.writeUInt16LE(NEEDS_ZIP64, 14);
      // Disk numbers (16, 20) stay 0: one disk.
      record.writeBigUInt64LE(BigInt(this.entries), 24);
      record.writeBigUInt64LE(BigInt(this.entries), 32);
      record.writeBigUInt64LE(BigInt(size), 40);
      record.writeBigUInt64LE(BigInt(start), 48);
      record.writeUInt32LE(ZIP64_LOCATOR, 56);
      record.writeBigUInt64LE(BigInt(end), 64);
      record.writeUInt32LE(1, 72);
      await this.write_(record);
    }
    const end = Buffer.alloc(END_BYTES);
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
    end.writeUInt16LE(Math.min(this.entries, MAX_U16), 8);
    end.writeUInt16LE(Math.min(this.entries, MAX_U16), 10);
    end.writeUInt32LE(Math.min(size, MAX_U32), 12);
    end.writeUInt32LE(Math.min(start, MAX_U32), 16);
    await this.write_(end);
    this.flush();
    if (!this.destroyed) this.push(null);
  }

  private record(name: string, directory: boolean, mode: number, mtime: Date, method: number, flags: number, zip64: boolean): EntryRecord {
    const { time, date } = toDosDateTime(mtime);
    return { name: Buffer.from(name, 'utf8'), directory, method, flags: flags | FLAG_UTF8, mode, mtime, dosTime: time, dosDate: date, offset: this.offset, zip64, crc: 0, compressedSize: 0, size: 0 };
  }

  private async writeLocalHeader(record: EntryRecord): Promise<void> {
    const streamed = (record.flags & FLAG_DATA_DESCRIPTOR) !== 0;
    const zip64Bytes = record.zip64 ? 20 : 0;
    const [header, base] = await this.reserve(LOCAL_HEADER_BYTES + record.name.length + zip64Bytes + TIMESTAMP_EXTRA_BYTES);
    header.writeUInt32LE(LOCAL_HEADER, base);
    header.writeUInt16LE(record.zip64 ? NEEDS_ZIP64 : NEEDS_DEFAULT, base + 4);
    header.writeUInt16LE(record.flags, base + 6);
    header.writeUInt16LE(record.method, base + 8);
    header.writeUInt16LE(record.dosTime, base + 10);
    header.writeUInt16LE(record.dosDate, base + 12);
    // With a data descriptor, CRC and sizes are zero here (§4.4.4 bit 3); ZIP64 puts 0xFFFFFFFF and the sizes in the extra.
    header.writeUInt32LE(streamed ? 0 : record.crc, base + 14);
    header.writeUInt32LE(record.zip64 ? MAX_U32 : streamed ? 0 : record.compressedSize, base + 18);
    header.writeUInt32LE(record.zip64 ? MAX_U32 : streamed ? 0 : record.size, base + 22);
    header.writeUInt16LE(record.name.length, base + 26);
    header.writeUInt16LE(zip64Bytes + TIMESTAMP_EXTRA_BYTES, base + 28);
    let at = base + LOCAL_HEADER_BYTES + record.name.copy(header, base + LOCAL_HEADER_BYTES);
    if (record.zip64) {
      at = header.writeUInt16LE(EXTRA_ZIP64, at);
      at = header.writeUInt16LE(16, at);
      at = header.writeBigUInt64LE(BigInt(streamed ? 0 : record.size), at);
      at = header.writeBigUInt64LE(BigInt(streamed ? 0 : record.compressedSize), at);
    }
    writeTimestampExtra(header, at, record.mtime);
  }

  private async writeDataDescriptor(record: EntryRecord): Promise<void> {
    const sizeBytes = record.zip64 ? 8 : 4;
    const [descriptor, base] = await this.reserve(8 + 2 * sizeBytes);
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, base);
    descriptor.writeUInt32LE(record.crc >>> 0, base + 4);
    if (record.zip64) {
      descriptor.writeBigUInt64LE(BigInt(record.compressedSize), base + 8);
      descriptor.writeBigUInt64LE(BigInt(record.size), base + 16);
    } else {
      descriptor.writeUInt32LE(record.compressedSize, base + 8);
      descriptor.writeUInt32LE(record.size, base + 12);
    }
  }

  /** Packs the entry's central directory header; the record itself is dropped. */
  private seal(record: EntryRecord): void {
    // An entry declared ZIP64 keeps its sizes in the ZIP64 extra here too, as its local header promised.
    const sizesInExtra = record.zip64 || record.size >= MAX_U32 || record.compressedSize >= MAX_U32;
    const offsetInExtra = record.offset >= MAX_U32;
    const zip64Bytes = sizesInExtra || offsetInExtra ? 4 + (sizesInExtra ? 16 : 0) + (offsetInExtra ? 8 : 0) : 0;
    const [header, base] = this.reserveDirectory(CENTRAL_HEADER_BYTES + record.name.length + zip64Bytes + TIMESTAMP_EXTRA_BYTES);
    const fileType = record.directory ? 0o040000 : 0o100000;
    header.writeUInt32LE(CENTRAL_HEADER, base);
    header.writeUInt16LE(MADE_BY, base + 4);
    header.writeUInt16LE(zip64Bytes > 0 ? NEEDS_ZIP64 : NEEDS_DEFAULT, base + 6);
    header.writeUInt16LE(record.flags, base + 8);
    header.writeUInt16LE(record.method, base + 10);
    header.writeUInt16LE(record.dosTime, base + 12);
    header.writeUInt16LE(record.dosDate, base + 14);
    header.writeUInt32LE(record.crc >>> 0, base + 16);
    header.writeUInt32LE(sizesInExtra ? MAX_U32 : record.compressedSize, base + 20);
    header.writeUInt32LE(sizesInExtra ? MAX_U32 : record.size, base + 24);
    header.writeUInt16LE(record.name.length, base + 28);
    header.writeUInt16LE(zip64Bytes + TIMESTAMP_EXTRA_BYTES, base + 30);
    header.writeUInt16LE(0, base + 32); // comment length
    header.writeUInt16LE(0, base + 34); // disk number start
    header.writeUInt16LE(0, base + 36); // internal attributes
    // External attributes: the Unix mode in the high half, the MS-DOS directory bit in the low.
    header.writeUInt32LE((((fileType | record.mode) << 16) | (record.directory ? 0x10 : 0)) >>> 0, base + 38);
    header.writeUInt32LE(offsetInExtra ? MAX_U32 : record.offset, base + 42);
    let at = base + CENTRAL_HEADER_BYTES + record.name.copy(header, base + CENTRAL_HEADER_BYTES);
    if (zip64Bytes > 0) {
      // Only the fields that overflowed, in this order (§4.5.3).
      at = header.writeUInt16LE(EXTRA_ZIP64, at);
      at = header.writeUInt16LE(zip64Bytes - 4, at);
      if (sizesInExtra) {
        at = header.writeBigUInt64LE(BigInt(record.size), at);
        at = header.writeBigUInt64LE(BigInt(record.compressedSize), at);
      }
      if (offsetInExtra) at = header.writeBigUInt64LE(BigInt(record.offset), at);
    }
    writeTimestampExtra(header, at, record.mtime);
    this.entries += 1;
  }

  /**
   * Room for `length` bytes of the central directory, as a buffer and the
   * offset to write at: headers are packed into 64 KB blocks rather than
   * kept as one small buffer each.
   */
  private reserveDirectory(length: number): [Buffer, number] {
    if (length > this.directoryBlock.length - this.directoryUsed) {
      if (this.directoryUsed > 0) this.directory.push(this.directoryBlock.subarray(0, this.directoryUsed));
      this.directoryBlock = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, length));
      this.directoryUsed = 0;
    }
    const base = this.directoryUsed;
    this.directoryUsed += length;
    this.directoryBytes += length;
    return [this.directoryBlock, base];
  }

  /** Room for `length` bytes of output in the current block (flushed first when too full), as a buffer and the offset to write at. */
  private async reserve(length: number): Promise<[Buffer, number]> {
    if (length > BLOCK_BYTES - this.used) {
      await this.flushAndWait();
      if (length > BLOCK_BYTES) this.block = Buffer.allocUnsafe(length);
    }
    const base = this.used;
    this.used += length;
    this.offset += length;
    return [this.block, base];
  }

  /** Queues bytes for output: small ones gathered into the current block, large ones passed on whole. */
  private async write_(data: Buffer): Promise<void> {
    this.offset += data.length;
    if (this.destroyed) return;
    if (data.length <= BLOCK_BYTES - this.used) {
      data.copy(this.block, this.used);
      this.used += data.length;
      if (this.used === BLOCK_BYTES) await this.flushAndWait();
      return;
    }
    if (data.length < BLOCK_BYTES) {
      const head = BLOCK_BYTES - this.used;
      data.copy(this.block, this.used, 0, head);
      this.used = BLOCK_BYTES;
      await this.flushAndWait();
      data.copy(this.block, 0, head);
      this.used = data.length - head;
      return;
    }
    this.flush();
    await this.pushAndWait(data);
  }

  private flush(): void {
    if (this.used === 0 || this.destroyed) return;
    const full = this.block.subarray(0, this.used);
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    this.used = 0;
    this.push(full);
  }

  private async flushAndWait(): Promise<void> {
    if (this.used === 0) return;
    const full = this.block.subarray(0, this.used);
    this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    this.used = 0;
    await this.pushAndWait(full);
  }

  /** Pushes a chunk and, when the reader is full, waits until it asks for more (or the stream is destroyed). */
  private async pushAndWait(chunk: Buffer): Promise<void> {
    if (this.destroyed) return;
    if (this.push(chunk)) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private resume_(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** MS-DOS date and time (local time, two-second steps), clamped to 1980–2107 (§4.4.6). */
export function toDosDateTime(when: Date): { time: number; date: number } {
  const year = when.getFullYear();
  if (Number.isNaN(year) || year < 1980) return { time: 0, date: (1 << 5) | 1 };
  if (year > 2107) return { time: (23 << 11) | (59 << 5) | 29, date: (127 << 9) | (12 << 5) | 31 };
  return {
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | Math.floor(when.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
  };
}

function writeTimestampExtra(target: Buffer, at: number, mtime: Date): void {
  const seconds = Math.min(Math.max(Math.floor(mtime.getTime() / 1000), 0), MAX_U32);
  at = target.writeUInt16LE(EXTRA_TIMESTAMP, at);
  at = target.writeUInt16LE(5, at);
  at = target.writeUInt8(1, at); // flags: modification time present
  target.writeUInt32LE(Number.isNaN(seconds) ? 0 : seconds, at);
}
