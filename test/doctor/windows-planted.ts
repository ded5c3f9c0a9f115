/**
 * Secrets planted in every kind of text the Windows support bundle collects (the agent's logs with CLI output and
 * tracebacks, HTTP headers, environment dumps, the installed scripts' lines, JSON, plist, task XML), each with the
 * secret that must not survive redaction. Made-up values, never real keys. Shared by the JavaScript and the .NET
 * (Mono) redaction tests.
 */
export const ORG = 'rl_org_PLANTEDa1b2c3d4e5f6g7h8';
export const ENROLL = 'rl_enroll_PLANTEDz9y8x7w6v5';
export const HOSTILE_ORG = `rl_org_PLANTED'q"u$(o)\`te;#`;
const BEARER = 'eyJhbGciOiJIUzI1NiJ9.PLANTEDpayload.PLANTEDsig';
const OPAQUE = 'PLANTEDopaque7777';

/** Every way a secret could reach a text the bundle collects; each line names where it came from. */
export const PLANTED: Array<[string, string, string]> = [
  ['CLI output, key in a sentence', `2026-12-06T05:00:00+00:00 [4242]   using key ${ORG} for scan`, ORG],
  ['CLI output, enrollment key in quotes', `2026-12-06T05:00:01+00:00 [4242]   enroll: key='${ENROLL}'`, ENROLL],
  ['a hostile key (quotes, $(), backtick)', `  error: bad key ${HOSTILE_ORG} rejected`, HOSTILE_ORG.slice(7)],
  ['HTTP header in a traceback', `  requests.exceptions.HTTPError: 401 ... headers={'Authorization': 'Bearer ${BEARER}'}`, BEARER],
  ['Authorization header line', `Authorization: Bearer ${BEARER}`, BEARER],
  ['bearer token in prose', `retrying with bearer ${BEARER} after 401`, BEARER],
  ['environment dump (spec names)', `RUNLAYER_API_KEY=${OPAQUE}`, OPAQUE],
  ['environment dump, enrollment', `RUNLAYER_ENROLLMENT_KEY = "${OPAQUE}"`, OPAQUE],
  ['PowerShell variable as installed', `$AiwatchOrgApiKey = '${OPAQUE}''s'`, OPAQUE],
  ['JSON setting', `{"OrgApiKey": "${OPAQUE}", "Host": "https://acme.runlayer.com"}`, OPAQUE],
  ['plist setting', `<key>EnrollmentKey</key>\n\t<string>${OPAQUE}</string>`, OPAQUE],
  ['generic api key', `api_key: ${OPAQUE}`, OPAQUE],
  ['generic password', `password=${OPAQUE}`, OPAQUE],
  ['mixed case and a tab', `AUTHORIZATION:\tBEARER ${BEARER}\nApi-Key:\t${OPAQUE}\norgapikey = ${OPAQUE}`, OPAQUE],
  ['mixed-case bearer alone', `BeArEr\t${BEARER}`, BEARER],
  ['task XML argument (never holds a key, but if it did)', `<Arguments>-File "C:\\x.ps1" -Key ${ORG}</Arguments>`, ORG],
];
