/**
 * Jamf sign-in (src/mdm/jamf/auth.ts) against the local Jamf Pro server with an injected clock: a token is reused
 * while more than min(20 % of its lifetime, 60 s) is left and renewed after; concurrent requests share one sign-in;
 * a user token is renewed with keep-alive; messages never hold the secret.
 */
import { describe, expect, it } from 'vitest';
import { JamfAuth, renewMarginMs } from '../../../src/mdm/jamf/auth.js';
import { Secret } from '../../../src/secret.js';
import { jamfServer } from '../../helpers/servers/jamf/vitest.js';

describe('jamf: sign-in and renewal', () => {
  it('the renewal margin is 20 % of the lifetime or 60 s, whichever is smaller', () => {
    expect(renewMarginMs(1_200_000)).toBe(60_000);
    expect(renewMarginMs(100_000)).toBe(20_000);
    expect(renewMarginMs(10_000)).toBe(2_000);
  });

  it('an API client token is reused until the margin, then renewed; parallel requests share one sign-in', async () => {
    const s = await jamfServer({ oauthLifetimeSec: 100 });
    let now = 1_000_000;
    const c = s.clients[0]!;
    const auth = new JamfAuth(s.url, { kind: 'client', clientId: c.id, clientSecret: new Secret(c.secret, 'clientSecret') }, { now: () => now }, 'jamf t');
    const [a, b] = await Promise.all([auth.header(), auth.header()]);
    expect(a).toBe(b);
    expect(s.counts().auth).toBe(1);
    now += 79_000;
    expect(await auth.header()).toBe(a);
    now += 2_000; // 19 s left of 100: renew
    const fresh = await auth.header();
    expect(fresh).not.toBe(a);
    expect(s.counts().auth).toBe(2);
    auth.invalidate();
    expect(await auth.header()).not.toBe(fresh);
    expect(s.log.filter((e) => e.kind === 'auth').map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual(Array(3).fill('POST /api/oauth/token 200'));
  });

  it('a user token is renewed with keep-alive before it runs out; a wrong password is exit 6 without the password', async () => {
    const s = await jamfServer({ userTokenLifetimeSec: 100 });
    const u = s.users[0]!;
    let now = Date.now();
    const auth = new JamfAuth(s.url, { kind: 'user', username: u.username, password: new Secret(u.password, 'password') }, { now: () => now }, 'jamf t');
    const first = await auth.header();
    now += 85_000;
    const second = await auth.header();
    expect(second).not.toBe(first);
    expect(s.log.filter((e) => e.kind === 'auth').map((e) => e.path)).toEqual(['/api/v1/auth/token', '/api/v1/auth/keep-alive']);
    const bad = new JamfAuth(s.url, { kind: 'user', username: u.username, password: new Secret('not-the-password-123', 'password') }, {}, 'jamf t');
    const e = await bad.header().catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 6 });
    expect((e as Error).message).toContain(`jamf t: sign in as user "${u.username}": refused with HTTP 401`);
    expect((e as Error).message).not.toContain('not-the-password-123');
  });

  it('a server without /api/oauth/token says to use username and password', async () => {
    const s = await jamfServer({ oauth: false });
    const auth = new JamfAuth(s.url, { kind: 'client', clientId: 'x', clientSecret: new Secret('y-secret-value', 's') }, {}, 'jamf t');
    const e = await auth.header().catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 6 });
    expect((e as Error).message).toContain('no /api/oauth/token (Jamf Pro before 10.49): give username and password');
  });
});
