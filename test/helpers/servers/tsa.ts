/**
 * A local RFC 3161 time-stamp authority on 127.0.0.1 (port 0) for tests. It answers `POST` bodies of DER
 * TimeStampReq with a TimeStampResp whose token is a SignedData (eContentType id-ct-TSTInfo, version 3) signed by the
 * test TSA certificate, carrying the RFC 5035 signingCertificateV2 attribute that `openssl ts -verify` insists on,
 * echoing the request's imprint and nonce, and embedding the TSA certificate when certReq is set.
 *
 * Faults: `mode = 'http500'` (HTTP 500 with no body), `'reject'` (PKIStatus rejection + statusString + failInfo
 * badAlg), `'wrong-imprint'` (a granted token over other bytes). Every request body is kept in `requests`.
 */
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { startLocalServer, type LocalServer } from './listen.js';

export type TsaMode = 'ok' | 'http500' | 'reject' | 'wrong-imprint';

export interface TestTsa extends LocalServer {
  mode: TsaMode;
  requests: Buffer[];
}

const TEST_POLICY = '1.3.6.1.4.1.55555.1.1';
const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';

function attr(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 } with ESSCertIDv2 { certHash (SHA-256 default) }. */
function signingCertificateV2(certDer: Uint8Array): asn1js.Sequence {
  const hash = createHash('sha256').update(certDer).digest();
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: hash })] })] })] });
}

function tstInfo(req: pkijs.TimeStampReq, serial: number, genTime: Date, imprint: pkijs.MessageImprint): Uint8Array {
  const info = new pkijs.TSTInfo({
    version: 1,
    policy: TEST_POLICY,
    messageImprint: imprint,
    serialNumber: new asn1js.Integer({ value: serial }),
    genTime,
    ordering: false,
    ...(req.nonce ? { nonce: req.nonce } : {}),
  });
  return new Uint8Array(info.toSchema().toBER());
}

async function token(req: pkijs.TimeStampReq, tst: Uint8Array, certDer: Uint8Array, key: KeyObject): Promise<pkijs.ContentInfo> {
  const cert = pkijs.Certificate.fromBER(certDer);
  const attrs = [
    attr('1.2.840.113549.1.9.3', new asn1js.ObjectIdentifier({ value: ID_CT_TSTINFO })),
    attr('1.2.840.113549.1.9.4', new asn1js.OctetString({ valueHex: createHash('sha256').update(tst).digest() })),
    attr('1.2.840.113549.1.9.16.2.47', signingCertificateV2(certDer)),
  ].sort((a, b) => Buffer.compare(Buffer.from(a.toSchema().toBER()), Buffer.from(b.toSchema().toBER())));
  const encap = new pkijs.EncapsulatedContentInfo({ eContentType: ID_CT_TSTINFO });
  encap.eContent = new asn1js.OctetString({ valueHex: tst });
  const sd = new pkijs.SignedData({
    version: 3,
    encapContentInfo: encap,
    ...(req.certReq ? { certificates: [cert] } : {}),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
      }),
    ],
  });
  const cryptoKey = key.toCryptoKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  await sd.sign(cryptoKey, 0, 'SHA-256');
  return new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: sd.toSchema() });
}

function rejection(): Uint8Array {
  const status = new pkijs.PKIStatusInfo({
    status: 2,
    statusStrings: [new asn1js.Utf8String({ value: 'request rejected by the test TSA' })],
    failInfo: new asn1js.BitString({ valueHex: new Uint8Array([0x80]), unusedBits: 7 }),
  });
  return new Uint8Array(new pkijs.TimeStampResp({ status }).toSchema().toBER());
}

export interface TestTsaOptions {
  certFile: string;
  keyFile: string;
  clock: () => Date;
}

/** Start the test TSA; it stops when the current test finishes. */
export async function startTestTsa(opts: TestTsaOptions): Promise<TestTsa> {
  const certDer = new Uint8Array(new X509Certificate(readFileSync(opts.certFile)).raw);
  const key = createPrivateKey(readFileSync(opts.keyFile));
  let serial = 0;
  const state = { mode: 'ok' as TsaMode, requests: [] as Buffer[] };
  const server = await startLocalServer(async (req, res, body) => {
    state.requests.push(body);
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
      res.writeHead(400).end();
      return;
    }
    if (state.mode === 'http500') {
      res.writeHead(500).end();
      return;
    }
    let answer: Uint8Array;
    if (state.mode === 'reject') answer = rejection();
    else {
      const tsq = pkijs.TimeStampReq.fromBER(body);
      const imprint = state.mode === 'wrong-imprint'
        ? new pkijs.MessageImprint({ hashAlgorithm: tsq.messageImprint.hashAlgorithm, hashedMessage: new asn1js.OctetString({ valueHex: createHash('sha256').update('other').digest() }) })
        : tsq.messageImprint;
      serial += 1;
      const tok = await token(tsq, tstInfo(tsq, serial, opts.clock(), imprint), certDer, key);
      answer = new Uint8Array(new pkijs.TimeStampResp({ status: new pkijs.PKIStatusInfo({ status: 0 }), timeStampToken: tok }).toSchema().toBER());
    }
    res.writeHead(200, { 'content-type': 'application/timestamp-reply', 'content-length': answer.length });
    res.end(Buffer.from(answer));
  });
  return Object.assign(state, server) as TestTsa;
}
