// tzwm-signer through Taquito's RemoteSigner (@taquito/remote-signer), a client of the Octez
// remote-signer protocol, and through raw HTTP for what no client would send. Signatures are
// verified with @taquito/utils, which uses neither the token nor tzwm. Run by test-signer, which
// started the signer (TZWM_SIGNER_URL, TZWM_SIGNER_PID) over a token and dynalite.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { RemoteSigner } = require('@taquito/remote-signer');
const { verifySignature } = require('@taquito/utils');

const url = process.env.TZWM_SIGNER_URL;
const maxConnections = Number(process.env.TZWM_SIGNER_MAX_CONNECTIONS);
const signerPid = Number(process.env.TZWM_SIGNER_PID);
const storePid = Number(process.env.TZWM_STORE_PID);
const tzwm = process.env.TZWM_CLI;
const vectors = JSON.parse(readFileSync(process.env.TZWM_VECTORS, 'utf8')).requests;
const vector = (name) => vectors.find((v) => v.name === name).hex;
const [a1, a2, b1, c2, c3] = ['A1', 'A2', 'B1', 'C2', 'C3'].map(vector);
const unknownKey = 'tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx';

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
    if (ok) {
        console.log(`ok   ${name}`);
        passed++;
    } else {
        console.error(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
        failed++;
    }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The token's keys as tzwm keys lists them: label, type, address, public key.
function tokenKeys() {
    const lines = execFileSync(tzwm, ['keys'], { encoding: 'utf8' }).trim().split('\n').slice(1);
    return lines.map((line) => {
        const [label, , type, address, publicKey] = line.split(/ +/);
        return { label, type, address, publicKey };
    });
}

// The watermark rows as tzwm watermarks --json gives them, to see that bad input moved nothing.
function watermarks() {
    return execFileSync(tzwm, ['watermarks', '--json'], { encoding: 'utf8' });
}

// A raw exchange: status, content type, body text and the parsed body (undefined if not JSON).
async function exchange(method, path, body, headers = { 'Content-Type': 'application/json' },
    timeoutMs = 10000) {
    const response = await fetch(`${url}${path}`, {
        method, body, headers, signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        json = undefined;
    }
    return {
        status: response.status,
        type: response.headers.get('content-type'),
        allow: response.headers.get('allow'),
        text,
        json,
    };
}

// An error answer: the status, an Octez-style error trace, and no signature.
function checkError(name, answer, status, id) {
    check(`${name}: status ${status}`, answer.status === status, `got ${answer.status} ${answer.text}`);
    check(`${name}: JSON`, answer.type === 'application/json', `content type ${answer.type}`);
    check(
        `${name}: error trace ${id}`,
        Array.isArray(answer.json) && answer.json[0]?.id === `tzwm.signer.${id}` &&
            typeof answer.json[0]?.msg === 'string',
        answer.text,
    );
    check(`${name}: no signature`, !answer.text.includes('"signature"') &&
        !/(edsig|spsig1|p2sig)[1-9A-HJ-NP-Za-km-z]{20}/.test(answer.text), answer.text);
}

// What a RemoteSigner call threw (an HttpResponseError has the status and the body), or
// undefined when it did not.
async function rejection(promise) {
    try {
        await promise;
        return undefined;
    } catch (error) {
        return error;
    }
}

const keys = tokenKeys();
check('three keys on the token', keys.length === 3 && ['tz1', 'tz2', 'tz3'].every((p) =>
    keys.some((k) => k.address.startsWith(p))), JSON.stringify(keys));
const prefix = { tz1: 'edsig', tz2: 'spsig1', tz3: 'p2sig' };
const pkPrefix = { tz1: 'edpk', tz2: 'sppk', tz3: 'p2pk' };

// ---- GET /authorized_keys: none, so clients sign without authenticating ----
{
    const answer = await exchange('GET', '/authorized_keys');
    check('authorized_keys: 200 {}', answer.status === 200 && answer.text === '{}', answer.text);
    check('authorized_keys: JSON', answer.type === 'application/json');
}

// ---- Public keys, and a block and an attestation signed and verified, for each key ----
for (const key of keys) {
    const tz = key.address.slice(0, 3);
    const signer = new RemoteSigner(key.address, url);
    const publicKey = await signer.publicKey();
    check(`${tz} public key`, publicKey === key.publicKey && publicKey.startsWith(pkPrefix[tz]),
        `${publicKey} (tzwm keys: ${key.publicKey})`);
    check(`${tz} public key hash`, (await signer.publicKeyHash()) === key.address);

    // RemoteSigner checks the signature against the public key itself; it is checked again here.
    for (const [kind, hex] of [['block A1', a1], ['attestation C3', c3]]) {
        let signed;
        try {
            signed = await signer.sign(hex);
        } catch (error) {
            check(`${tz} signs ${kind}`, false, String(error));
            continue;
        }
        check(`${tz} signs ${kind}: ${prefix[tz]}`, signed.prefixSig.startsWith(prefix[tz]),
            signed.prefixSig);
        check(`${tz} signs ${kind}: verifies`, verifySignature(hex, publicKey, signed.prefixSig));
        check(`${tz} signs ${kind}: not over A2`, !verifySignature(a2, publicKey, signed.prefixSig));
    }

    // A different block at the same level and round: double baking, refused with 409.
    const refused = await rejection(signer.sign(a2));
    check(`${tz} double bake A2: 409`, refused?.status === 409, String(refused));
    const trace = refused?.body ? JSON.parse(refused.body) : undefined;
    check(`${tz} double bake A2: names the refusal`,
        trace?.[0]?.id === 'tzwm.signer.refused' &&
            /watermark/.test(trace[0].msg) && /CKR_FUNCTION_REJECTED/.test(trace[0].msg),
        refused?.body);

    // A1 again, the magic byte given as Taquito's watermark argument: the same bytes, which the
    // module signs again (the digest clause: no evidence of double signing).
    try {
        const again = await signer.sign(a1.slice(2), new Uint8Array([0x11]));
        check(`${tz} A1 again`, verifySignature(a1, publicKey, again.prefixSig));
    } catch (error) {
        check(`${tz} A1 again`, false, String(error));
    }
}

// ---- Several requests at once, one per key and more than the workers ----
{
    const answers = await Promise.all(keys.flatMap((key) => [
        new RemoteSigner(key.address, url).sign(c2).then((s) =>
            verifySignature(c2, key.publicKey, s.prefixSig), (e) => String(e)),
        new RemoteSigner(key.address, url).publicKey().then((pk) => pk === key.publicKey),
    ]));
    check('concurrent: all signed and verified', answers.every((a) => a === true),
        JSON.stringify(answers));
}

// ---- Bad input: the right 4xx, no signature, and the watermarks unmoved ----
const ed = keys.find((k) => k.address.startsWith('tz1')).address;
const before = watermarks();
checkError('not JSON', await exchange('POST', `/keys/${ed}`, 'not json'), 400, 'malformed_body');
checkError('JSON number', await exchange('POST', `/keys/${ed}`, '42'), 400, 'malformed_body');
checkError('JSON object', await exchange('POST', `/keys/${ed}`, JSON.stringify({ data: b1 })), 400,
    'malformed_body');
checkError('JSON string then more', await exchange('POST', `/keys/${ed}`, `"${b1}" "${b1}"`), 400,
    'malformed_body');
checkError('no body', await exchange('POST', `/keys/${ed}`), 400, 'malformed_body');
checkError('odd-length hex', await exchange('POST', `/keys/${ed}`, JSON.stringify(b1.slice(1))),
    400, 'malformed_body');
checkError('not hex', await exchange('POST', `/keys/${ed}`, JSON.stringify(`${b1.slice(2)}zz`)),
    400, 'malformed_body');
// An escaped NUL would end the string early in a JSON parser that stops there; any escape is
// refused, even one of a hex digit.
checkError('an escaped NUL', await exchange('POST', `/keys/${ed}`,
    `"${b1.slice(0, 20)}\\u0000${b1.slice(20)}"`), 400, 'malformed_body');
checkError('an escaped hex digit', await exchange('POST', `/keys/${ed}`,
    `"\\u0031${b1.slice(1)}"`), 400, 'malformed_body');
{
    const digest = await exchange('POST', `/keys/${ed}`, JSON.stringify(b1.slice(0, 64)));
    checkError('a 32-byte digest', digest, 400, 'invalid_request');
    check('a 32-byte digest: says so', /digest/.test(digest.json?.[0]?.msg), digest.text);
}
checkError('empty request', await exchange('POST', `/keys/${ed}`, '""'), 400, 'invalid_request');
checkError('oversized body', await exchange('POST', `/keys/${ed}`,
    JSON.stringify('11'.repeat(100 * 1024))), 413, 'body_too_large');
checkError('unknown key GET', await exchange('GET', `/keys/${unknownKey}`), 404, 'unknown_key');
checkError('unknown key POST', await exchange('POST', `/keys/${unknownKey}`, JSON.stringify(b1)),
    404, 'unknown_key');
{
    const refused = await rejection(new RemoteSigner(unknownKey, url).publicKey());
    check('unknown key: RemoteSigner says not found', refused?.name === 'PublicKeyNotFoundError',
        String(refused));
}
for (const path of ['/', '/keys', '/keys/', `/keys/${ed}/extra`, '/authorized_keys/x', '/sign',
    '/authorized_keys%00']) {
    checkError(`unknown path ${path}`, await exchange('GET', path), 404, 'unknown_path');
}
// Paths are compared as sent, never unescaped: an address is base58 and needs no escape.
checkError('escaped address', await exchange('GET', `/keys/${ed}%00`), 404, 'unknown_key');
checkError('escaped address 2', await exchange('GET', `/keys/${ed.slice(0, -1)}%${ed.charCodeAt(ed.length - 1).toString(16)}`), 404, 'unknown_key');
for (const [method, path, allow] of [['PUT', `/keys/${ed}`, 'GET, POST'],
    ['DELETE', `/keys/${ed}`, 'GET, POST'], ['POST', '/authorized_keys', 'GET'],
    ['PATCH', '/authorized_keys', 'GET']]) {
    const answer = await exchange(method, path, method === 'DELETE' ? undefined : JSON.stringify(b1));
    checkError(`${method} ${path}`, answer, 405, 'method_not_allowed');
    check(`${method} ${path}: Allow ${allow}`, answer.allow === allow, answer.allow);
}
check('bad input: the watermarks did not move', watermarks() === before);

// ---- The connection count is bounded: past it, a client waits and is not served ----
// (raw sockets: fetch would reuse a connection it keeps alive)
{
    const { hostname, port } = new URL(url);
    const open = () => new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => resolve(socket));
        socket.on('error', reject);
    });
    const idle = await Promise.all(Array.from({ length: maxConnections }, open));
    await sleep(300);
    const over = await open();
    let answer = '';
    over.on('data', (data) => { answer += data; });
    over.write('GET /authorized_keys HTTP/1.1\r\nHost: tzwm\r\nConnection: close\r\n\r\n');
    await sleep(1000);
    check(`connections: one more than ${maxConnections} is not served`, answer === '', answer);
    for (const socket of idle)
        socket.destroy();
    // fetch's idle keep-alive connections from the tests above may hold slots too, until fetch
    // closes them (4 s after their last use).
    for (let i = 0; i < 80 && answer === ''; i++)
        await sleep(100);
    check('connections: it is served once the others close', answer.startsWith('HTTP/1.1 200'),
        answer);
    over.destroy();
}

// ---- The store does not answer: 503, and signing resumes when it is back ----
{
    const tz2 = new RemoteSigner(keys.find((k) => k.address.startsWith('tz2')).address, url);
    process.kill(storePid, 'SIGSTOP');
    let unavailable;
    try {
        unavailable = await rejection(tz2.sign(b1));
    } finally {
        process.kill(storePid, 'SIGCONT');
    }
    check('store stopped: 503', unavailable?.status === 503, String(unavailable));
    check('store stopped: temporary error', JSON.parse(unavailable?.body ?? '[]')[0]?.kind ===
        'temporary' && /CKR_FUNCTION_FAILED/.test(unavailable.body), unavailable?.body);
    const back = await rejection(tz2.sign(b1));
    check('store back: B1 signed', back === undefined, String(back));
}

// ---- SIGTERM while a request waits for the store: it is answered, then the signer stops ----
// (raw HTTP: RemoteSigner asks for the public key again after signing, on a new connection, which
// a stopping signer no longer takes)
{
    const tz3 = keys.find((k) => k.address.startsWith('tz3'));
    process.kill(storePid, 'SIGSTOP');
    const pending = exchange('POST', `/keys/${tz3.address}`, JSON.stringify(b1)).then(
        (answer) => answer.status === 200 && verifySignature(b1, tz3.publicKey, answer.json.signature),
        (error) => String(error));
    await sleep(300);
    process.kill(signerPid, 'SIGTERM');
    await sleep(200);
    // Stopping, the signer refuses a new connection at once rather than leaving it unanswered
    // until the grace is over (a baker fails over to another signer host without waiting).
    const { hostname, port } = new URL(url);
    const started = Date.now();
    const connection = await new Promise((resolve) => {
        const socket = connect(Number(port), hostname, () => {
            socket.destroy();
            resolve('connected');
        });
        socket.on('error', (error) => resolve(error.code));
    });
    check('SIGTERM: a new connection is refused at once',
        connection === 'ECONNREFUSED' && Date.now() - started < 500,
        `${connection} after ${Date.now() - started} ms`);
    process.kill(storePid, 'SIGCONT');
    const result = await pending;
    check('SIGTERM: the request under way is signed', result === true, String(result));
    const after = await exchange('GET', '/authorized_keys').then((a) => a.status, (e) => 'refused');
    check('SIGTERM: no new request answered', after === 'refused', String(after));
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
