/**
 * jamfDriver.validate: every problem of a target's Jamf-specific parts at once, each naming the target — credential
 * pairs, secrets given as text, literals given by reference, unknown options, an empty smart-group scope.
 */
import { expect, it } from 'vitest';
import { jamfDriver } from '../../../src/mdm/jamf/driver.js';
import type { RolloutTarget } from '../../../src/rollout/model.js';

const base: RolloutTarget = {
  name: 'acme',
  mdm: 'jamf',
  url: 'https://acme.jamfcloud.com',
  credentials: { clientId: 'ci', clientSecret: { env: 'JAMF_SECRET' } },
  tenant: {},
  scope: { group: 'Pilot' },
  testServer: false,
  options: {},
};

it('jamf validate: a sound target has no problem', () => {
  expect(jamfDriver.validate(base)).toEqual([]);
  expect(jamfDriver.validate({ ...base, credentials: { username: 'api', password: { file: 'pw' } }, options: { namePrefix: 'rl aiwatch' } })).toEqual([]);
});

it('jamf validate: every problem at once, each naming the target', () => {
  const problems = jamfDriver.validate({
    ...base,
    credentials: { clientId: { env: 'X' }, clientSecret: 'plain-text-secret', username: 'u', extra: 'x' },
    options: { categoryName: 'Apps', namePrefix: 'bad/prefix' },
    scope: { smartGroup: { name: 'AI Watch', criteria: [] } },
  });
  expect(problems).toEqual([
    'target acme: credentials: unknown field "extra"; expected clientId + clientSecret, or username + password',
    'target acme: credentials: give either clientId + clientSecret or username + password, not both',
    'target acme: credentials: clientId is not secret: give it as text, not a file or env reference',
    'target acme: credentials: clientSecret is a secret: give it by reference ({file: …} or {env: …}), never as text',
    expect.stringMatching(/^target acme: options: unknown option "categoryName"; known: namePrefix/),
    'target acme: options.namePrefix must match ^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$, got "bad/prefix"',
    'target acme: scope.smartGroup "AI Watch" has no criteria: it would hold no Mac (give at least one criterion)',
  ]);
  expect(problems.join('\n')).not.toContain('plain-text-secret');
});
