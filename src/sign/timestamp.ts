/**
 * RFC 3161 time-stamp client: builds a TimeStampReq (SHA-256 message imprint of the given bytes — for a CMS
 * signature, its signature value — a random nonce, certReq true), POSTs it over HTTP as
 * `application/timestamp-query`, and checks the TimeStampResp: PKIStatus granted/grantedWithMods, a token whose
 * TSTInfo imprint and nonce match the request, and a token signature that verifies with the certificate it carries.
 * The token (a ContentInfo/SignedData) is returned byte for byte as the TSA sent it.
 *
 * Not covered: trusting the TSA's certificate (the verifier — macOS — does that with its own anchors; Apple's TSA
 * chains to Apple Timestamp CA in certs/apple), accuracy/ordering fields, TSA policy selection.
 * The nonce is the one place besides the signatures where randomness is used.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { InterruptedError, NetworkError, RemoteRejection, ToolError } from '../errors.js';
import { requestBytes } from '../net/http.js';
import type { Retryable } from '../net/retry.js';
import { OID } from './oids.js';

/** Apple's time-stamp server, which productsign uses by default for Developer ID identities. */
export const APPLE_TIMESTAMP_URL = 'http://timestamp.apple.com/ts01';

export interface TimestampOptions {
  url: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Extra attempts after a connection failure, timeout, HTTP 429 or 5xx (src/net's policy); default 2. */
  retries?: number;
  /** Wait between attempts (injectable for tests); default 1 s, then 2 s, 4 s … */
  sleep?: (ms: number) => Promise<void>;
  /** Nonce bytes; default 8 random bytes. */
  nonce?: Uint8Array;
  signal?: AbortSignal;
}

export interface TimestampToken {
  /** DER ContentInfo(SignedData) with eContentType id-ct-TSTInfo, as the TSA sent it. */
  token: Uint8Array;
  genTime: Date;
  serialNumber: string;
  policy: string;
}

const PKI_STATUS = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
const FAIL_INFO: Record<number, string> = { 0: 'badAlg', 2: 'badRequest', 5: 'badDataFormat', 14: 'timeNotAvailable', 15: 'unacceptedPolicy', 16: 'unacceptedExtension', 17: 'addInfoNotAvailable', 25: 'systemFailure' };

/** A positive nonce with a minimal encoding: first byte 0x01–0x7f. */
function makeNonce(bytes: Uint8Array | undefined): Uint8Array {
  const n = new Uint8Array(bytes ?? randomBytes(8));
  if (n.length === 0) throw new Error('nonce must not be empty');
  n[0] = (n[0]! & 0x7f) || 0x01;
  return n;
}

/** DER TimeStampReq over SHA-256(`data`). */
export function buildTimestampRequest(data: Uint8Array, nonce: Uint8Array): Uint8Array {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256, algorithmParams: new asn1js.Null() }),
      hashedMessage: new asn1js.OctetString({ valueHex: createHash('sha256').update(data).digest() }),
    }),
    nonce: new asn1js.Integer({ valueHex: nonce }),
    certReq: true,
  });
  return new Uint8Array(req.toSchema().toBER());
}

function failInfoNames(resp: pkijs.TimeStampResp): string {
  const bits = resp.status.failInfo?.valueBlock.valueHexView;
  if (!bits) return '';
  const names: string[] = [];
  for (let i = 0; i < bits.length * 8; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) names.push(FAIL_INFO[i] ?? `bit ${i}`);
  return names.length ? ` (failInfo: ${names.join(', ')})` : '';
}

function rejectUnlessGranted(resp: pkijs.TimeStampResp, url: string): void {
  const status = resp.status.status;
  if (status === 0 || status === 1) return;
  const text = resp.status.statusStrings?.map((s) => s.valueBlock.value).join('; ');
  throw new RemoteRejection(`time-stamp server ${url} answered ${PKI_STATUS[status] ?? `status ${status}`}${text ? `: ${text}` : ''}${failInfoNames(resp)}`);
}

/** The token bytes exactly as received (second element of the TimeStampResp SEQUENCE). */
function rawToken(der: Uint8Array): Uint8Array {
  const seq = asn1js.fromBER(der).result as asn1js.Sequence;
  const tokenBlock = seq.valueBlock.value[1];
  if (!tokenBlock) throw new Error('no timeStampToken');
  return new Uint8Array(tokenBlock.valueBeforeDecodeView);
}

async function checkToken(token: Uint8Array, data: Uint8Array, nonce: Uint8Array): Promise<TimestampToken> {
  const ci = pkijs.ContentInfo.fromBER(token);
  const sd = new pkijs.SignedData({ schema: ci.content });
  if (sd.encapContentInfo.eContentType !== OID.tstInfo || !sd.encapContentInfo.eContent) throw new Error('token does not hold a TSTInfo');
  const tst = pkijs.TSTInfo.fromBER(sd.encapContentInfo.eContent.getValue());
  const want = createHash('sha256').update(data).digest();
  const got = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (tst.messageImprint.hashAlgorithm.algorithmId !== OID.sha256 || !got.equals(want)) throw new Error('token message imprint does not match the request');
  if (!tst.nonce || !Buffer.from(tst.nonce.valueBlock.valueHexView).equals(Buffer.from(nonce))) throw new Error('token nonce does not match the request');
  const verified = await sd.verify({ signer: 0, data: new Uint8Array(data).buffer, checkChain: false, extendedMode: true }).catch((e: unknown) => ({ signatureVerified: false, message: (e as Error).message }));
  if (!verified.signatureVerified) throw new Error(`token signature does not verify (${verified.message})`);
  return { token, genTime: tst.genTime, serialNumber: Buffer.from(tst.serialNumber.valueBlock.valueHexView).toString('hex'), policy: tst.policy };
}

/** Check a DER TimeStampResp against the request it answers; returns the token. */
export async function parseTimestampResponse(der: Uint8Array, url: string, data: Uint8Array, nonce: Uint8Array): Promise<TimestampToken> {
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(der);
  } catch (e) {
    throw new RemoteRejection(`time-stamp server ${url} sent an answer that is not a TimeStampResp (${(e as Error).message})`);
  }
  rejectUnlessGranted(resp, url);
  try {
    return await checkToken(rawToken(der), data, nonce);
  } catch (e) {
    throw new RemoteRejection(`time-stamp server ${url} sent an unusable token: ${(e as Error).message}`);
  }
}

/**
 * POST the request through the shared client (src/net): connection failures, timeouts, 429 and 5xx are retried
 * under its policy (waits 1 s, 2 s, … by default); another non-2xx answer is a refusal.
 */
async function postRequest(url: string, body: Uint8Array, opts: TimestampOptions): Promise<Uint8Array> {
  const retries = opts.retries ?? 2;
  const answer = await requestBytes(
    { url, method: 'POST', headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' }, body },
    { retries, sleep: opts.sleep, signal: opts.signal, requestTimeoutMs: opts.timeoutMs ?? 30_000 },
    { where: `time-stamp server ${url}`, gaveUp: (last, attempts) => unreachable(url, last, attempts), interrupted: 'time-stamp request interrupted' },
  );
  if (answer.status < 200 || answer.status >= 300) throw new RemoteRejection(`time-stamp server ${url} refused the request: HTTP ${answer.status}`);
  return answer.body;
}

/** Retries exhausted: the server's last HTTP error, or "could not be reached" with the connection failure. */
function unreachable(url: string, last: Retryable, attempts: number): NetworkError {
  if (last.message.startsWith('HTTP ')) return new NetworkError(`time-stamp server ${url} answered ${last.message}`);
  const cause = last.cause as Error | undefined;
  const why = cause?.cause ? `${cause.message}: ${String((cause.cause as Error)?.message ?? cause.cause)}` : last.message;
  return new NetworkError(`time-stamp server ${url} could not be reached after ${attempts} attempts (${why})`, { cause: last.cause });
}

/** Ask the time-stamp server for one token over fixed bytes (discarded): resolves when it answers properly. */
export async function probeTimestampServer(url: string, opts: Omit<TimestampOptions, 'url'> = {}): Promise<void> {
  await requestTimestamp(Buffer.from('aiwatch-deploy: is this time-stamp server answering?'), { ...opts, url });
}

/**
 * An external tool that timestamps its signature (osslsigncode, rcodesign, codesign) failed with `e`: ask its
 * time-stamp server once ourselves. Unreachable → the NetworkError (exit 5), refusing → the RemoteRejection
 * (exit 6), each naming the tool's failure; answering properly → `e` stands (exit 4). So a time-stamp failure has
 * the same exit code with every signer (README "Exit codes"), and a successful signing costs no extra request.
 */
export async function timestampCauseOf(e: unknown, url: string | null | undefined, opts: Omit<TimestampOptions, 'url'> = {}): Promise<unknown> {
  if (!(e instanceof ToolError) || !url) return e;
  try {
    await probeTimestampServer(url, opts);
    return e;
  } catch (probe) {
    if (!(probe instanceof NetworkError) && !(probe instanceof RemoteRejection)) return probe;
    const Cls = probe instanceof NetworkError ? NetworkError : RemoteRejection;
    return new Cls(`${probe.message}; ${e.tool} failed, most likely because of it: ${e.message.split('\n')[0]!.slice(e.tool.length + 2)}`, { cause: e });
  }
}

/** Ask `opts.url` for a timestamp token over SHA-256(`data`). Network trouble → NetworkError; a "no" → RemoteRejection. */
export async function requestTimestamp(data: Uint8Array, opts: TimestampOptions): Promise<TimestampToken> {
  const nonce = makeNonce(opts.nonce);
  const der = await postRequest(opts.url, buildTimestampRequest(data, nonce), opts);
  if (opts.signal?.aborted) throw new InterruptedError('time-stamp request interrupted');
  return parseTimestampResponse(der, opts.url, data, nonce);
}
