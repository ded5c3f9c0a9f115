/**
 * A bound on BER/DER input before a recursive ASN.1 parser (asn1js, via pkijs) sees it: the size of a CMS blob and
 * how deep its constructed values nest, checked by walking tags and lengths iteratively. Used by every CMS reader
 * (the Mach-O code signature, the Authenticode block of a .ps1, the xar signature).
 */
import { byteText, LIMITS } from './limits.js';

/**
 * Walk the BER/DER tag-length structure of `der` without recursion and throw when it is larger than
 * LIMITS['cms.bytes'] or constructed values nest deeper than LIMITS['asn1.depth']. Malformed encodings are left to
 * the parser that follows (this only bounds what it will be asked to do).
 */
export function checkAsn1Nesting(der: Uint8Array): void {
  if (der.length > LIMITS['cms.bytes']) throw new Error(`${byteText(der.length)}: over the limit of ${byteText(LIMITS['cms.bytes'])} for a CMS signature`);
  const max = LIMITS['asn1.depth'];
  const ends: number[] = []; // end offset of each open constructed value; -1 for an indefinite length
  let pos = 0;
  while (pos < der.length) {
    while (ends.length > 0 && ends[ends.length - 1]! >= 0 && pos >= ends[ends.length - 1]!) ends.pop();
    if (der[pos] === 0 && der[pos + 1] === 0 && ends[ends.length - 1] === -1) {
      ends.pop(); // end-of-contents of an indefinite length
      pos += 2;
      continue;
    }
    const tag = der[pos++]!;
    if ((tag & 0x1f) === 0x1f) while (pos < der.length && (der[pos++]! & 0x80) !== 0);
    const first = der[pos++];
    if (first === undefined) return;
    let length = first;
    if (first === 0x80) length = -1;
    else if (first > 0x80) {
      const n = first & 0x7f;
      if (n > 4) return;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (der[pos++] ?? 0);
    }
    if ((tag & 0x20) === 0) {
      if (length < 0) return;
      pos += length;
      continue;
    }
    ends.push(length < 0 ? -1 : pos + length);
    if (ends.length > max) throw new Error(`ASN.1 values nest deeper than ${max} levels: over the limit (a hostile or damaged signature; not parsed)`);
  }
}
