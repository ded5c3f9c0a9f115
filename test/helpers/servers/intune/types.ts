/** Types of the local Intune (Microsoft Graph beta + Entra token) server; see README.md in this folder. */

export type Obj = Record<string, unknown>;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface LogEntry {
  method: string;
  /** Path below the host, with the query (`/beta/deviceManagement/deviceConfigurations?$filter=…`). */
  path: string;
  kind: 'auth' | 'read' | 'write';
  status: number;
  /** The fault that answered instead of the route, if any. */
  fault?: string;
}

export type FaultAction =
  /** Answer this status in Graph's error shape (429 and 503 with `retryAfter` seconds, if given). */
  | { status: number; retryAfter?: number; code?: string }
  /** Close the connection: before the request is handled, or after (the write did happen, the answer is lost). */
  | { reset: 'before' | 'after' }
  /** The caller's token expires as this request arrives (401 InvalidAuthenticationToken). */
  | { expireToken: true };

export interface Fault {
  method?: string;
  /** Matched against the path without the query. */
  path?: RegExp;
  /** Let this many matching requests through first. */
  skip?: number;
  /** Fire this many times (default 1). */
  times?: number;
  action: FaultAction;
}

export interface AppClient {
  id: string;
  /** A client secret, or… */
  secret?: string;
  /** …a certificate (PEM) whose key signs client assertions (PS256 or RS256, x5t#S256 or x5t), or… */
  certificatePem?: string;
  /** …a federated credential: the issuer and subject of the JWTs accepted as client assertions. */
  federated?: { issuer: string; subject: string; audience?: string };
}

export interface ContentRecord {
  app: string;
  contentVersion: string;
  file: string;
  name: string;
  size: number;
  sha256: string;
  /** The decrypted content (up to keepContentUpTo bytes). */
  bytes?: Buffer;
}

export interface IntuneServerOptions {
  /** Azurite's account URL (startAzurite().accountUrl); the SAS URIs handed out point there. */
  storageUrl: string;
  tenantId?: string;
  clients?: AppClient[];
  /** Access token lifetime (default 3599 s, as Entra gives). */
  tokenLifetimeSec?: number;
  /** Lifetime of each SAS handed out (default 1 h; settable later through `options`). */
  sasLifetimeMs?: number;
  /** Reads of a new file that show azureStorageUriRequestPending before the SAS is there (default 1). */
  storageUriPendingPolls?: number;
  /** Items per page of a collection (default 100; then `@odata.nextLink`). */
  pageSize?: number;
  /** Decrypted contents up to this size are kept in `contents` (default 64 MiB). */
  keepContentUpTo?: number;
  now?: () => number;
}
