// make-list.mjs — a Status List Token made by an independent implementation of
// draft-ietf-oauth-status-list, the npm package @sd-jwt/jwt-status-list, for
// the gateway's interoperability test (e2e/services_statuslist_test.go).
//
//   node make-list.mjs --key issuer.key --kid wso2apim --iss ISSUER --uri URI \
//        --bits 2 --statuses 0,1,2,0 [--ttl 2] [--size N]
//
// The list is built, compressed and put into the token's header and payload by
// the package; node's own crypto signs it (RS256 with the PKCS#8 key). The
// token is printed on stdout.
import { readFileSync } from 'node:fs';
import { createSign } from 'node:crypto';
import { StatusList, createHeaderAndPayload } from '@sd-jwt/jwt-status-list';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const need of ['key', 'iss', 'uri', 'bits', 'statuses']) {
  if (args[need] === undefined) {
    console.error(`make-list.mjs: --${need} is required`);
    process.exit(2);
  }
}
const bits = Number(args.bits);
const given = args.statuses.split(',').map(Number);
const size = Math.max(Number(args.size || 0), given.length);
const statuses = new Array(size).fill(0);
given.forEach((s, i) => { statuses[i] = s; });

const list = new StatusList(statuses, bits);
const now = Math.floor(Date.now() / 1000);
const payload = { iss: args.iss, sub: args.uri, iat: now, exp: now + 3600 };
if (args.ttl) payload.ttl = Number(args.ttl);
const { header, payload: body } = createHeaderAndPayload(list, payload,
  { alg: 'RS256', typ: 'statuslist+jwt', kid: args.kid || 'wso2apim' });

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const input = `${b64(header)}.${b64(body)}`;
const sig = createSign('RSA-SHA256').update(input).sign(readFileSync(args.key, 'utf8'));
process.stdout.write(`${input}.${sig.toString('base64url')}\n`);
