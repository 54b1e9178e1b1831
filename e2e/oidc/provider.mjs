// An OpenID provider for e2e/services_auth_test.go: the certified oidc-provider package, as an
// identity provider would configure it, on a loopback port of the operating system's choosing.
//
//   node oidc/provider.mjs
//
// prints one line of JSON, {"issuer": "http://127.0.0.1:PORT", "kid": "..."}, once it listens,
// and exits when its stdin closes (the test ended, however it ended).
//
// - client "app" (secret "app-secret") gets access tokens with the client credentials grant: opaque
//   ones, or JWTs signed with the provider's key when it asks for the resource urn:micro-gw:e2e;
// - client "gateway" (secret "gateway-secret") is the gateway's at the RFC 7662 introspection
//   endpoint (/token/introspection); tokens are revoked at the RFC 7009 endpoint (/token/revocation);
// - POST /test/rotate rotates the signing key as a provider does: a new key is published in /jwks
//   and signs from then on, the old one stays published. The provider is made anew with the new
//   key set (its configuration is fixed at construction); tokens live in the package's memory
//   store, which the two share.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const RESOURCE = 'urn:micro-gw:e2e';

// signingKey makes an RSA key off the event loop (under load a 2048-bit key takes a while).
function signingKey() {
	return new Promise((resolve, reject) => {
		crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, _publicKey, privateKey) => {
			if (err) {
				reject(err);
				return;
			}
			resolve({ ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' });
		});
	});
}

function provider(issuer, keys) {
	const p = new Provider(issuer, {
		clients: [
			{
				client_id: 'app',
				client_secret: 'app-secret',
				grant_types: ['client_credentials'],
				response_types: [],
				redirect_uris: [],
				token_endpoint_auth_method: 'client_secret_basic',
				scope: 'read:pets',
			},
			{
				client_id: 'gateway',
				client_secret: 'gateway-secret',
				grant_types: [],
				response_types: [],
				redirect_uris: [],
				token_endpoint_auth_method: 'client_secret_basic',
			},
		],
		jwks: { keys },
		scopes: ['read:pets'],
		features: {
			devInteractions: { enabled: false },
			clientCredentials: { enabled: true },
			introspection: { enabled: true },
			revocation: { enabled: true },
			resourceIndicators: {
				enabled: true,
				defaultResource: () => undefined,
				useGrantedResource: () => false,
				getResourceServerInfo: (_ctx, resource) => {
					if (resource !== RESOURCE) {
						throw new errors.InvalidTarget();
					}
					return { scope: 'read:pets', audience: RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
				},
			},
		},
		ttl: { ClientCredentials: 3600 },
	});
	return p.callback();
}

const keys = [await signingKey()];
let next = signingKey(); // the key of the next rotation, made ahead
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
	const issuer = `http://127.0.0.1:${server.address().port}`;
	let handle = provider(issuer, keys);
	server.on('request', async (req, res) => {
		if (req.method === 'POST' && req.url === '/test/rotate') {
			keys.unshift(await next);
			next = signingKey();
			handle = provider(issuer, keys.slice(0, 2));
			res.setHeader('Content-Type', 'application/json');
			res.end(JSON.stringify({ kid: keys[0].kid }));
			return;
		}
		handle(req, res);
	});
	process.stdout.write(JSON.stringify({ issuer, kid: keys[0].kid }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
