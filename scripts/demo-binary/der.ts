/**
 * A minimal DER encoder for the demo certificate and CMS signature: tag-length-value, SEQUENCE, SET OF (sorted as
 * DER requires), INTEGER, OBJECT IDENTIFIER, OCTET/BIT STRING, UTF8String, UTCTime, explicit context tags.
 * Only what scripts/demo-binary needs; not a general ASN.1 library. Erasable TypeScript: node runs it directly.
 */

export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export const seq = (...parts: Uint8Array[]): Buffer => tlv(0x30, ...parts);

/** SET OF: DER orders the elements by their encodings. */
export const setOf = (...parts: Buffer[]): Buffer => tlv(0x31, ...[...parts].sort(Buffer.compare));

/** [n] EXPLICIT (constructed context-specific tag). */
export const explicit = (n: number, ...parts: Uint8Array[]): Buffer => tlv(0xa0 | n, ...parts);

/** A non-negative INTEGER from big-endian magnitude bytes (a leading 0x00 added when the top bit is set). */
export function integer(magnitude: Uint8Array | number): Buffer {
  let b = typeof magnitude === 'number' ? Buffer.from([magnitude]) : Buffer.from(magnitude);
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const group: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** OBJECT IDENTIFIER content bytes only (what code requirements store for cert field OIDs). */
export function oidContent(dotted: string): Buffer {
  return oid(dotted).subarray(2);
}

export const octets = (b: Uint8Array): Buffer => tlv(0x04, b);
export const bitString = (b: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), b);
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const nul = (): Buffer => Buffer.from([0x05, 0x00]);
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));

/** UTCTime YYMMDDHHMMSSZ (valid for 1950–2049). */
export function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${s}Z`, 'latin1'));
}
