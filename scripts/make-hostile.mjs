/**
 * The hostile-input corpus of `verify` and `inspect` (issue 9 "Bounded readers", issue 16 item 4): files anyone can
 * hand an admin, each built to exhaust a reader that trusts the counts, sizes, depths and references inside it.
 *
 *   node scripts/make-hostile.mjs                    # the small files → test/fixtures/hostile/ (committed)
 *   node scripts/make-hostile.mjs --out DIR --all    # every file, the big ones too (what test/hostile does)
 *   node scripts/make-hostile.mjs --out DIR --only toc-5000-deep.pkg
 *
 * Every file is written by the code below from Node's own zlib and crypto — never by the project's writers — so a
 * bug in our writers cannot hide a bug in our readers. The output is deterministic (fixed keys, no timestamps).
 * Files of at most 100 KiB (`small: true`) are committed under test/fixtures/hostile/ (test/hostile checks they
 * still equal this script's output); the others (a 9 MiB Payload, a 300 MB script, …) are generated into a
 * temporary folder by the test, because their size on disk is the attack.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const u32 = (...vs) => Buffer.concat(vs.map((v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; }));
const sha1 = (b) => createHash('sha1').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------------------- xar

/** A xar archive from TOC `<file>` XML and heap bytes (the TOC checksum is prepended to the heap here). */
function xarBytes(filesXml, heap = Buffer.alloc(0)) {
  const xml = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<xar>\n <toc>\n  <checksum style="sha1"><offset>0</offset><size>20</size></checksum>\n` +
      `  <creation-time>2024-01-01T00:00:00</creation-time>\n${filesXml}\n </toc>\n</xar>\n`,
  );
  const toc = zlib.deflateSync(xml, { level: 9 });
  const header = Buffer.alloc(28);
  header.write('xar!', 0, 'latin1');
  header.writeUInt16BE(28, 4);
  header.writeUInt16BE(1, 6);
  header.writeBigUInt64BE(BigInt(toc.length), 8);
  header.writeBigUInt64BE(BigInt(xml.length), 16);
  header.writeUInt32BE(1, 24);
  return Buffer.concat([header, toc, createHash('sha1').update(toc).digest(), heap]);
}

/**
 * A well-formed flat package holding `members` ({path, bytes, zlib?}), component members under one directory:
 * correct checksums everywhere, so the readers get past the container to the member under attack.
 */
function pkgBytes(members) {
  let offset = 20;
  const heap = [];
  const tree = new Map();
  for (const m of members) {
    const stored = m.zlib ? zlib.deflateSync(m.bytes, { level: 9 }) : m.bytes;
    const data = `<data><offset>${offset}</offset><length>${stored.length}</length><size>${m.bytes.length}</size>` +
      `<encoding style="${m.zlib ? 'application/x-gzip' : 'application/octet-stream'}"/>` +
      `<archived-checksum style="sha1">${sha1(stored)}</archived-checksum><extracted-checksum style="sha1">${sha1(m.bytes)}</extracted-checksum></data>`;
    heap.push(stored);
    offset += stored.length;
    const [dir, name] = m.path.includes('/') ? m.path.split('/') : ['', m.path];
    if (!tree.has(dir)) tree.set(dir, []);
    tree.get(dir).push({ name, data });
  }
  let id = 0;
  const file = (name, type, inner) => `<file id="${++id}"><name>${name}</name><type>${type}</type><mode>0644</mode>${inner}</file>`;
  const xml = [...tree].map(([dir, files]) => {
    const leaves = files.map((f) => file(f.name, 'file', f.data)).join('');
    return dir === '' ? leaves : file(dir, 'directory', leaves);
  });
  return xarBytes(xml.join('\n'), Buffer.concat(heap));
}

const PKG_ID = 'com.example.hostile';
const distribution = (comp) => Buffer.from(
  `<?xml version="1.0" encoding="utf-8"?>\n<installer-gui-script minSpecVersion="2"><pkg-ref id="${PKG_ID}"/>` +
    `<choices-outline><line choice="default"><line choice="${PKG_ID}"/></line></choices-outline>` +
    `<choice id="default"/><choice id="${PKG_ID}" visible="false"><pkg-ref id="${PKG_ID}"/></choice>` +
    `<pkg-ref id="${PKG_ID}" version="1.0" onConclusion="none">#${comp}</pkg-ref></installer-gui-script>\n`,
);
const packageInfo = (files, kbytes) => Buffer.from(
  `<?xml version="1.0" encoding="utf-8"?>\n<pkg-info format-version="2" identifier="${PKG_ID}" version="1.0" install-location="/" auth="root">` +
    `<payload numberOfFiles="${files}" installKBytes="${kbytes}"/></pkg-info>\n`,
);

/** A product archive: Distribution + one component `x.pkg` with the given Bom/PackageInfo/Payload (any may be absent). */
function productPkg({ bom, info, payload }) {
  const members = [{ path: 'Distribution', bytes: distribution('x.pkg'), zlib: true }];
  if (bom) members.push({ path: 'x.pkg/Bom', bytes: bom, zlib: true });
  if (info) members.push({ path: 'x.pkg/PackageInfo', bytes: info, zlib: true });
  if (payload) members.push({ path: 'x.pkg/Payload', bytes: payload });
  return pkgBytes(members);
}

// ---------------------------------------------------------------------------------------------------------- Bom

/** A BOMStore: blocks by id (entry 0 is the null block), optionally several ids sharing one block's bytes. */
class BomBuilder {
  blocks = [{ bytes: Buffer.alloc(0) }];
  add(bytes) {
    this.blocks.push({ bytes });
    return this.blocks.length - 1;
  }
  /** A new block id whose table entry points at the bytes of `id` (an alias). */
  alias(id) {
    this.blocks.push({ aliasOf: id });
    return this.blocks.length - 1;
  }
  node(leaf, pairs, fwd = 0, back = 0, size = 4096) {
    const b = Buffer.alloc(Math.max(size, 12 + 8 * pairs.length));
    b.writeUInt16BE(leaf ? 1 : 0, 0);
    b.writeUInt16BE(pairs.length, 2);
    b.writeUInt32BE(fwd, 4);
    b.writeUInt32BE(back, 8);
    pairs.forEach(([v, k], i) => u32(v, k).copy(b, 12 + 8 * i));
    return this.add(b);
  }
  /** One path record: key (parent id + name), PathInfo1 (id, PathInfo2), PathInfo2 (a file or directory). */
  record(id, parentId, name, { dir = false, size = 0, cksum = 0 } = {}) {
    const i2 = Buffer.alloc(35);
    i2.writeUInt8(dir ? 2 : 1, 0);
    i2.writeUInt8(1, 1);
    i2.writeUInt16BE(0x000f, 2);
    i2.writeUInt16BE((dir ? 0o040000 : 0o100000) | (dir ? 0o755 : 0o644), 4);
    i2.writeUInt32BE(size, 18);
    i2.writeUInt8(1, 22);
    i2.writeUInt32BE(cksum, 23);
    const info2 = this.add(i2);
    return [this.add(u32(id, info2)), this.add(Buffer.concat([u32(parentId), Buffer.from(name), Buffer.alloc(1)]))];
  }
  empty() {
    return this.add(Buffer.concat([Buffer.from('tree'), u32(1, this.node(true, []), 4096, 0), Buffer.alloc(1)]));
  }
  /** Header, blocks, vars, block table (BomInfo and the Paths tree root are given; the other vars are empty trees). */
  bytes(pathsRoot, pathCount) {
    const info = this.add(u32(1, pathCount + 1, 1, 0, 0, 0, 0));
    const paths = this.add(Buffer.concat([Buffer.from('tree'), u32(1, pathsRoot, 4096, pathCount), Buffer.alloc(1)]));
    const vars = [['BomInfo', info], ['Paths', paths], ['HLIndex', this.empty()], ['VIndex', this.add(Buffer.concat([u32(1, this.empty(), 0), Buffer.alloc(1)]))], ['Size64', this.empty()]];
    const addresses = [];
    const parts = [];
    let at = 512;
    for (const b of this.blocks) {
      if (b.aliasOf !== undefined) {
        addresses.push(addresses[b.aliasOf]);
        continue;
      }
      addresses.push([b.bytes.length === 0 ? 0 : at, b.bytes.length]);
      parts.push(b.bytes);
      at += b.bytes.length;
    }
    const varsBuf = Buffer.concat([u32(vars.length), ...vars.map(([n, id]) => Buffer.concat([u32(id), Buffer.from([n.length]), Buffer.from(n)]))]);
    const index = Buffer.concat([u32(addresses.length), ...addresses.map(([a, l]) => u32(a, l)), u32(0)]);
    const header = Buffer.alloc(512);
    header.write('BOMStore', 0, 'latin1');
    u32(1, this.blocks.length - 1, at + varsBuf.length, index.length, at, varsBuf.length).copy(header, 8);
    return Buffer.concat([header, ...parts, varsBuf, index]);
  }
}

/** The Paths tree lists one 65,535-pair leaf under `aliases` block ids (all pairs name the same record). */
function bomAliasedLeaf(aliases) {
  const b = new BomBuilder();
  const pair = b.record(1, 0, '.', { dir: true });
  const leaf = b.node(true, Array.from({ length: 65535 }, () => pair));
  const ids = Array.from({ length: aliases }, () => b.alias(leaf));
  const root = b.node(false, ids.map((id) => [id, pair[1]]), 0, 0, 12 + 8 * aliases);
  return b.bytes(root, 65535 * aliases);
}

/** `depth` directories, each the child of the previous, each named with `nameBytes` bytes. */
function bomDeepChain(depth, nameBytes) {
  const b = new BomBuilder();
  const pairs = [b.record(1, 0, '.', { dir: true })];
  for (let i = 2; i <= depth + 1; i++) pairs.push(b.record(i, i - 1, `${String(i).padStart(6, '0')}${'d'.repeat(nameBytes - 6)}`, { dir: true }));
  const leaf = b.node(true, pairs, 0, 0, 12 + 8 * pairs.length);
  return b.bytes(leaf, pairs.length);
}

/** A plain Bom of `.` and `./a`, `./b` (files of `size` bytes with cksum `cksum`). */
function bomTwoFiles(size, cksum = 0) {
  const b = new BomBuilder();
  const pairs = [b.record(1, 0, '.', { dir: true }), b.record(2, 1, 'a', { size, cksum }), b.record(3, 1, 'b', { size, cksum })];
  return b.bytes(b.node(true, pairs), pairs.length);
}

// ---------------------------------------------------------------------------------------------------------- cpio + gzip

/** An odc cpio header + name for `name`, a regular file (or directory) of `size` bytes. */
function cpioHeader(name, size, mode = 0o100644) {
  const o = (v, w) => v.toString(8).padStart(w, '0');
  const n = Buffer.concat([Buffer.from(name), Buffer.alloc(1)]);
  return Buffer.concat([Buffer.from(`070707${o(0, 6)}${o(1, 6)}${o(mode, 6)}${o(0, 6)}${o(0, 6)}${o(1, 6)}${o(0, 6)}${o(0, 11)}${o(n.length, 6)}${o(size, 11)}`, 'latin1'), n]);
}
const cpioTrailer = () => cpioHeader('TRAILER!!!', 0, 0);

/** gzip members that decode to `bytes` zero bytes, `unit` at a time (one member repeated: the output stays small). */
function gzipZeros(bytes, unit = 64 << 20) {
  const member = zlib.gzipSync(Buffer.alloc(unit), { level: 9 });
  const parts = [];
  for (let left = bytes; left > 0; left -= unit) parts.push(left >= unit ? member : zlib.gzipSync(Buffer.alloc(left), { level: 9 }));
  return parts;
}

/** A gzip (multi-member) Payload: two regular files of `each` zero bytes each, then the trailer. */
function payloadTwoHugeFiles(each) {
  return Buffer.concat([
    zlib.gzipSync(cpioHeader('.', 0, 0o040755)),
    zlib.gzipSync(cpioHeader('./a', each)),
    ...gzipZeros(each),
    zlib.gzipSync(cpioHeader('./b', each)),
    ...gzipZeros(each),
    zlib.gzipSync(cpioTrailer()),
  ]);
}

/** A gzip Payload of `count` tiny files (`./f0000001` …): cheap to compress, costly to list. */
function payloadManyEntries(count) {
  const gz = zlib.createGzip({ level: 9 });
  const out = [];
  gz.on('data', (c) => out.push(c));
  gz.write(cpioHeader('.', 0, 0o040755));
  for (let i = 0; i < count; i += 10000) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 10000); j++) batch.push(cpioHeader(`./f${String(j).padStart(7, '0')}`, 0));
    gz.write(Buffer.concat(batch));
  }
  gz.write(cpioTrailer());
  return new Promise((resolve) => gz.end(() => resolve(Buffer.concat(out))));
}

// ---------------------------------------------------------------------------------------------------------- zip

/**
 * Raw deflate of `n` zero bytes without holding them: one 16 MiB segment ended with a full flush (byte-aligned, no
 * reference before it) repeated, then the rest as the final block. Returns the data and the CRC-32 of the zeros.
 */
function deflatedZeros(n) {
  const unit = 16 << 20;
  const zero = Buffer.alloc(Math.min(n, unit));
  const segment = zlib.deflateRawSync(zero, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const parts = [];
  let crc = 0;
  let left = n;
  for (; left > unit; left -= unit) {
    parts.push(segment);
    crc = zlib.crc32(zero, crc);
  }
  const last = zero.subarray(0, left);
  crc = zlib.crc32(last, crc);
  parts.push(zlib.deflateRawSync(last, { level: 9 }));
  return { data: Buffer.concat(parts), crc };
}

/**
 * A zip of `entries` ({name, data?, deflate?, declared?, zeros?}): `zeros` is a count of zero bytes deflated in
 * chunks (never held whole), `declared` overrides the sizes written in the headers. ZIP64 end records when the
 * entry count needs them.
 */
function zipBytes(entries) {
  const local = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    let data;
    let size;
    let crc = 0;
    if (e.zeros !== undefined) {
      ({ data, crc } = deflatedZeros(e.zeros));
      size = e.zeros;
    } else {
      const raw = e.data ?? Buffer.alloc(0);
      crc = zlib.crc32(raw);
      size = raw.length;
      data = e.deflate ? zlib.deflateRawSync(raw, { level: 9 }) : raw;
    }
    const method = e.deflate || e.zeros !== undefined ? 8 : 0;
    const usize = e.declared ?? size;
    const fixed = (sig) => {
      const b = Buffer.alloc(sig === 0x04034b50 ? 30 : 46);
      b.writeUInt32LE(sig, 0);
      const at = sig === 0x04034b50 ? 4 : 6;
      if (sig !== 0x04034b50) b.writeUInt16LE(0x031e, 4);
      b.writeUInt16LE(20, at);
      b.writeUInt16LE(0x0800, at + 2);
      b.writeUInt16LE(method, at + 4);
      b.writeUInt16LE(0, at + 6);
      b.writeUInt16LE(0x21, at + 8);
      b.writeUInt32LE(crc >>> 0, at + 10);
      b.writeUInt32LE(data.length, at + 14);
      b.writeUInt32LE(usize, at + 18);
      b.writeUInt16LE(name.length, at + 22);
      if (sig !== 0x04034b50) {
        b.writeUInt32LE((0o100644 << 16) >>> 0, 38);
        b.writeUInt32LE(offset, 42);
      }
      return b;
    };
    local.push(fixed(0x04034b50), name, data);
    central.push(fixed(0x02014b50), name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(central);
  const n = entries.length;
  const end = [];
  if (n > 0xffff) {
    const z64 = Buffer.alloc(56);
    z64.writeUInt32LE(0x06064b50, 0);
    z64.writeBigUInt64LE(44n, 4);
    z64.writeUInt16LE(45, 12);
    z64.writeUInt16LE(45, 14);
    z64.writeBigUInt64LE(BigInt(n), 24);
    z64.writeBigUInt64LE(BigInt(n), 32);
    z64.writeBigUInt64LE(BigInt(cd.length), 40);
    z64.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    end.push(z64, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Math.min(n, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(n, 0xffff), 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, cd, ...end, eocd]);
}

// ---------------------------------------------------------------------------------------------------------- .intunewin

const KEYS = { key: Buffer.alloc(32, 1), macKey: Buffer.alloc(32, 2), iv: Buffer.alloc(16, 3) };

/** A .intunewin around `inner` (the unencrypted zip), with Detection.xml's size replaced by `claimedSize` if given. */
function intuneWin(inner, { claimedSize, setupFile = 'Detect.ps1' } = {}) {
  const c = createCipheriv('aes-256-cbc', KEYS.key, KEYS.iv);
  const ct = Buffer.concat([c.update(inner), c.final()]);
  const mac = createHmac('sha256', KEYS.macKey).update(KEYS.iv).update(ct).digest();
  const b64 = (b) => b.toString('base64');
  const xml = `<ApplicationInfo ToolVersion="1.8.6.0">\n  <Name>${setupFile}</Name>\n  <UnencryptedContentSize>${claimedSize ?? inner.length}</UnencryptedContentSize>\n` +
    `  <FileName>IntunePackage.intunewin</FileName>\n  <SetupFile>${setupFile}</SetupFile>\n  <EncryptionInfo>\n` +
    `    <EncryptionKey>${b64(KEYS.key)}</EncryptionKey>\n    <MacKey>${b64(KEYS.macKey)}</MacKey>\n    <InitializationVector>${b64(KEYS.iv)}</InitializationVector>\n` +
    `    <Mac>${b64(mac)}</Mac>\n    <ProfileIdentifier>ProfileVersion1</ProfileIdentifier>\n` +
    `    <FileDigest>${b64(createHash('sha256').update(inner).digest())}</FileDigest>\n    <FileDigestAlgorithm>SHA256</FileDigestAlgorithm>\n  </EncryptionInfo>\n</ApplicationInfo>\n`;
  return zipBytes([
    { name: 'IntuneWinPackage/Contents/IntunePackage.intunewin', data: Buffer.concat([mac, KEYS.iv, ct]) },
    { name: 'IntuneWinPackage/Metadata/Detection.xml', data: Buffer.from(xml) },
  ]);
}

const SCRIPT = Buffer.from('$ErrorActionPreference = \'Stop\'\r\nWrite-Output \'ok\'\r\nexit 0\r\n');

// ---------------------------------------------------------------------------------------------------------- Mach-O, plist, CMS

/** A universal header claiming 2^20 slices (the table itself is absent). */
const fatManySlices = () => Buffer.concat([u32(0xcafebabe, 1 << 20), u32(0x01000007, 3, 0x1000, 0x1000, 12)]);

/** A thin 64-bit header claiming 2^32-1 load commands in 2^32-1 bytes, followed by one real command. */
function machoHugeCommands() {
  const h = Buffer.alloc(32 + 16);
  h.writeUInt32LE(0xfeedfacf, 0);
  h.writeUInt32LE(0x01000007, 4);
  h.writeUInt32LE(3, 8);
  h.writeUInt32LE(2, 12);
  h.writeUInt32LE(0xffffffff, 16);
  h.writeUInt32LE(0xffffffff, 20);
  h.writeUInt32LE(0x1b, 32);
  h.writeUInt32LE(0xfffffff0, 36);
  return h;
}

const PLIST_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n';
/** A profile whose PayloadContent nests `depth` arrays. */
const deepProfile = (depth) => Buffer.from(
  `${PLIST_HEAD}<dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key>${'<array>'.repeat(depth)}${'</array>'.repeat(depth)}</dict>\n</plist>\n`,
);

/** A profile holding one <data> blob of `bytes` bytes of base64 text, written in pieces. */
function writeHugeDataProfile(file, bytes) {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `${PLIST_HEAD}<dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array><dict><key>Blob</key><data>\n`);
    const line = `${'QUFB'.repeat(19)}\n`.repeat(1 << 14);
    for (let n = 0; n < bytes; n += line.length) writeSync(fd, line);
    writeSync(fd, '</data></dict></array></dict>\n</plist>\n');
  } finally {
    closeSync(fd);
  }
}

/** DER length octets. */
function derLen(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const der = (tag, body) => Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);

/** ContentInfo(signedData) whose content is `depth` nested SEQUENCEs (the signedData OID up front, as CMS profiles have). */
function cmsDeepNesting(depth) {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) inner = der(0x30, inner);
  const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
  return der(0x30, Buffer.concat([oid, der(0xa0, inner)]));
}

/** The same shape with indefinite lengths (BER), which asn1js also walks recursively. */
function cmsDeepIndefinite(depth) {
  const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
  return Buffer.concat([Buffer.from([0x30, 0x80]), oid, Buffer.from([0xa0, 0x80]), Buffer.alloc(2 * depth).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(2 * depth + 4)]);
}

// ---------------------------------------------------------------------------------------------------------- the corpus

const write = (bytes) => (file) => writeFileSync(file, bytes);
const lazy = (make) => async (file) => writeFileSync(file, await make());

/**
 * Every hostile file: its name, whether it is small enough to commit, what it attacks, and how to write it.
 * test/hostile/hostile.test.ts runs verify and inspect on each and states the expected outcome.
 */
export const HOSTILE = [
  { name: 'toc-4m-files.pkg', small: true, about: 'xar TOC of 4,000,000 empty <file/> elements (26 MiB of XML)', make: lazy(() => xarBytes('<file/>'.repeat(4_000_000))) },
  {
    name: 'toc-5000-deep.pkg', small: true, about: 'xar TOC nesting 5,000 directories',
    make: lazy(() => xarBytes(`${Array.from({ length: 5000 }, (_, i) => `<file id="${i + 1}"><name>d</name><type>directory</type>`).join('')}${'</file>'.repeat(5000)}`)),
  },
  { name: 'bom-alias-20.pkg', small: true, about: 'Bom whose Paths tree lists one 65,535-pair leaf under 20 block ids', make: lazy(() => productPkg({ bom: bomAliasedLeaf(20), info: packageInfo(1, 0) })) },
  { name: 'bom-alias-500.pkg', small: true, about: 'Bom whose Paths tree lists one 65,535-pair leaf under 500 block ids', make: lazy(() => productPkg({ bom: bomAliasedLeaf(500), info: packageInfo(1, 0) })) },
  { name: 'bom-deep-chain.pkg', small: true, about: 'Bom with a 4,000-deep parent chain of 500-byte names', make: lazy(() => productPkg({ bom: bomDeepChain(4000, 500), info: packageInfo(4000, 0) })) },
  {
    name: 'payload-10g.pkg', small: false, about: '9 MiB Payload that gunzips to 10 GiB of cpio with two regular files (Bom and PackageInfo: two 1 KiB files)',
    make: lazy(() => productPkg({ bom: bomTwoFiles(1024), info: packageInfo(2, 2), payload: payloadTwoHugeFiles(5 * 1024 ** 3) })),
  },
  { name: 'payload-3g-nobom.pkg', small: false, about: '~3 MiB Payload that gunzips to 3 GiB, no Bom, no PackageInfo', make: lazy(() => productPkg({ payload: payloadTwoHugeFiles(1.5 * 1024 ** 3) })) },
  { name: 'payload-200k-entries.pkg', small: false, about: 'Payload listing 200,000 empty files (no Bom)', make: lazy(async () => productPkg({ payload: await payloadManyEntries(200_000) })) },
  {
    name: 'payload-hostile-macho.pkg', small: true, about: 'Payload programs: a fat header claiming 2^20 slices, load commands claiming 2^32-1 bytes',
    make: lazy(() => productPkg({
      payload: Buffer.concat([zlib.gzipSync(Buffer.concat([cpioHeader('.', 0, 0o040755), cpioHeader('./fat', 28, 0o100755), fatManySlices(), cpioHeader('./thin', 48, 0o100755), machoHugeCommands(), cpioTrailer()]))]),
    })),
  },
  { name: 'fat-2p20-slices.bin', small: true, about: 'Mach-O universal header claiming 2^20 slices', make: write(fatManySlices()) },
  { name: 'macho-sizeofcmds.bin', small: true, about: 'Mach-O header claiming 2^32-1 load commands in 2^32-1 bytes', make: write(machoHugeCommands()) },
  { name: 'zip-bomb-liar.zip', small: false, about: 'zip entry declaring 1 KiB that inflates to 256 MiB', make: lazy(() => zipBytes([{ name: 'manifest.json', zeros: 256 << 20, declared: 1024 }])) },
  { name: 'zip-bomb-honest.zip', small: false, about: 'zip entry declaring and inflating to 1 GiB', make: lazy(() => zipBytes([{ name: 'aiwatch.pkg', zeros: 1 << 30 }])) },
  { name: 'zip-100k-entries.zip', small: false, about: 'zip of 100,000 empty entries (ZIP64 end record)', make: lazy(() => zipBytes(Array.from({ length: 100_000 }, (_, i) => ({ name: `f${i}` })))) },
  { name: 'plist-10k-deep.mobileconfig', small: true, about: 'profile nesting 10,000 arrays', make: write(deepProfile(10_000)) },
  { name: 'huge-data.mobileconfig', small: false, about: 'profile with a 100 MB <data> blob', make: (file) => writeHugeDataProfile(file, 100e6) },
  { name: 'cms-deep.mobileconfig', small: true, about: 'CMS signed profile nesting 20,000 SEQUENCEs (DER)', make: write(cmsDeepNesting(20_000)) },
  { name: 'cms-deep-ber.mobileconfig', small: true, about: 'CMS signed profile nesting 50,000 SEQUENCEs (BER indefinite lengths)', make: write(cmsDeepIndefinite(50_000)) },
  { name: 'detection-huge-size.intunewin', small: true, about: '.intunewin whose Detection.xml claims a 10^30-byte content', make: lazy(() => intuneWin(zipBytes([{ name: 'Detect.ps1', data: SCRIPT, deflate: true }]), { claimedSize: '1' + '0'.repeat(30) })) },
  {
    name: 'intunewin-script-bomb.intunewin', small: false, about: '.intunewin whose inner Detect.ps1 inflates to 256 MiB',
    make: lazy(() => intuneWin(zipBytes([{ name: 'Detect.ps1', zeros: 256 << 20 }]))),
  },
  { name: 'intunewin-100k-entries.intunewin', small: false, about: '.intunewin whose inner zip holds 100,000 entries', make: lazy(() => intuneWin(zipBytes(Array.from({ length: 100_000 }, (_, i) => ({ name: `f${i}.ps1` }))))) },
  { name: 'over-200k.ps1', small: true, about: 'PowerShell script of 200 KB + 1 byte (over Intune\'s limit)', make: write(Buffer.concat([Buffer.from('# x\r\n'.repeat(40960)), Buffer.from('\n')])) },
  {
    name: 'big-300m.ps1', small: false, about: 'PowerShell script of 300 MB',
    make: (file) => {
      const fd = openSync(file, 'w');
      const block = Buffer.from('Write-Output \'hostile\'\r\n'.repeat(1 << 16));
      try {
        for (let n = 0; n < 300e6; n += block.length) writeSync(fd, block);
      } finally {
        closeSync(fd);
      }
    },
  },
  { name: 'deep-parens.ps1', small: true, about: 'PowerShell script of 50,000 nested parentheses (under 200 KB)', make: write(Buffer.from(`$x = ${'('.repeat(50_000)}1${')'.repeat(50_000)}\r\n`)) },
];

/** The builders, for tests that vary an attack (test/hostile/readers.test.ts). */
export const build = { xarBytes, pkgBytes, productPkg, packageInfo, BomBuilder, bomTwoFiles, bomAliasedLeaf, cpioHeader, cpioTrailer, zipBytes, intuneWin, deepProfile, cmsDeepNesting, SCRIPT };

/** Write the corpus (`all`: the big files too; `only`: these names) into `dir`; returns the paths written. */
export async function makeHostile(dir, { all = false, only } = {}) {
  mkdirSync(dir, { recursive: true });
  const out = [];
  for (const h of HOSTILE) {
    if (only ? !only.includes(h.name) : !(all || h.small)) continue;
    const file = path.join(dir, h.name);
    await h.make(file);
    out.push(file);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const at = (flag) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const dir = path.resolve(at('--out') ?? path.join(root, 'test/fixtures/hostile'));
  const only = at('--only')?.split(',');
  for (const f of await makeHostile(dir, { all: argv.includes('--all'), only })) process.stdout.write(`${f}\n`);
}
