/**
 * The Classic API bodies of the Jamf driver: a profile and a policy body are well-formed XML by xmllint (an
 * independent reader), carry a payload with XML-special characters intact through xmlbuilder2's escaping and our
 * reader, and read back to the fields `plan` compares (booleans from text, scope names sorted, Jamf's <size> ignored).
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { parseClassic, policyXml, profileXml, readId, readPolicy, readProfile } from '../../../src/mdm/jamf/classic-xml.js';
import { describeWithTools } from '../../helpers/tools.js';

const payload = '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>A&amp;B</key><string>x < y & "z" ]]></string></dict></plist>';

describeWithTools(['xmllint'], 'jamf: Classic XML bodies', () => {
  it('a profile body is well-formed and reads back to what was written, the payload escaped and un-escaped exactly', () => {
    const xml = profileXml({ name: 'aiwatch — PPPC', description: 'admin note\naiwatch-deploy: profile-pppc sha256=' + 'a'.repeat(64) + ' version=1.2.0', payloads: payload, scopeGroup: { id: '7', name: 'AI Watch' } });
    // xmllint reads it (exit 0) and gives back the payload text as we sent it.
    const text = execFileSync('xmllint', ['--xpath', 'string(/os_x_configuration_profile/general/payloads)', '-'], { input: xml }).toString('utf8').replace(/\n$/, ''); // xmllint ends its output with a newline
    expect(text).toBe(payload);
    const p = readProfile(parseClassic(xml, 'os_x_configuration_profile'));
    expect(p.payloads).toBe(payload);
    expect(p.name).toBe('aiwatch — PPPC');
    expect(p.description.split('\n')[0]).toBe('admin note');
    expect(p.level).toBe('computer');
    expect(p.distributionMethod).toBe('Install Automatically');
    expect(p.scope).toEqual({ allComputers: false, groups: ['AI Watch'], others: 0 });
  });

  it('a policy body is well-formed and reads back to the compared fields', () => {
    const xml = policyXml({ name: 'aiwatch — install', package: { id: '3', name: 'aiwatch-1.2.0-macos-arm64.pkg' }, scopeGroup: { id: '9', name: 'AI Watch — aiwatch not 1.2.0' }, marker: 'm' });
    execFileSync('xmllint', ['--noout', '-'], { input: xml });
    const p = readPolicy(parseClassic(xml, 'policy'));
    expect(p).toMatchObject({
      name: 'aiwatch — install',
      enabled: true,
      frequency: 'Ongoing',
      triggerCheckin: true,
      packages: ['aiwatch-1.2.0-macos-arm64.pkg: Install'],
      recon: true,
      selfServiceDescription: 'm',
    });
    expect(p.scope.groups).toEqual(['AI Watch — aiwatch not 1.2.0']);
  });
});

it('jamf: a server answer with <size> elements, unsorted scope and TRUE/False reads normalised', () => {
  const answer = `<?xml version="1.0" encoding="UTF-8"?><policy><general><id>12</id><name>p</name><enabled>TRUE</enabled>
    <trigger_checkin>False</trigger_checkin><frequency>Ongoing</frequency></general>
    <scope><all_computers>false</all_computers><computers><size>1</size><computer><id>4</id><name>mac</name></computer></computers>
    <computer_groups><size>2</size><computer_group><id>2</id><name>b</name></computer_group><computer_group><id>1</id><name>a</name></computer_group></computer_groups>
    <exclusions><computer_groups><size>1</size><computer_group><id>5</id><name>x</name></computer_group></computer_groups></exclusions></scope>
    <package_configuration><packages><size>0</size></packages></package_configuration></policy>`;
  const root = parseClassic(answer, 'policy');
  const p = readPolicy(root);
  expect(readId(root)).toBe('12');
  expect(p.enabled).toBe(true);
  expect(p.triggerCheckin).toBe(false);
  expect(p.packages).toEqual([]);
  expect(p.scope).toEqual({ allComputers: false, groups: ['a', 'b'], others: 2 });
  expect(readId(parseClassic('<os_x_configuration_profile><id>41</id></os_x_configuration_profile>', 'os_x_configuration_profile'))).toBe('41');
});

it('jamf: a Classic answer that is not the resource asked for is refused with what it is', () => {
  expect(() => parseClassic('<html><body>Unauthorized</body></html>', 'policy')).toThrow('root element is <html>, expected <policy>');
  expect(() => parseClassic('<policy><general></policy>', 'policy')).toThrow('not well-formed');
  expect(() => parseClassic('<!DOCTYPE x [<!ENTITY a "b">]><policy/>', 'policy')).toThrow();
});

it('serializeXml (formats/xml-tree): text and attributes holding entity-shaped sequences read back as given', async () => {
  const { el, parseXml, serializeXml, textOf } = await import('../../../src/formats/xml-tree.js');
  const xml = serializeXml(el('a', { k: 'x&amp;y &#38; &' }, 'p&lt;q &amp; r & s'));
  const back = parseXml(xml);
  expect(textOf(back)).toBe('p&lt;q &amp; r & s');
  expect(back.attrs.k).toBe('x&amp;y &#38; &');
});
