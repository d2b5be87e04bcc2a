#!/usr/bin/env node
// A fault-injecting HTTP proxy between tzwm and a DynamoDB-API server, for the fault tests: listens
// on a free loopback port and forwards every request to http://127.0.0.1:TARGET_PORT, unless told
// to do something else with it. Prints "<proxy port> <control port>" on stdout.
//
// The control port takes JSON by POST:
//   /faults   {"queue": [action, ...], "otherwise": action}: the next requests take the queued
//             actions in order, every later one `otherwise` (default {"do": "pass"}).
//   /restart  {"path": DIR}: starts dynalite again on TARGET_PORT over the LevelDB store in DIR
//             (after a test killed the first one); it is this proxy's child and dies with it.
// and GET /counts answers {"requests": n, "forwarded": m, "answered": a} since the last /faults
// (answered: the server's replies received, so the writes it has made).
//
// Actions ({"do": ...}):
//   pass                          forward, answer what the server answered
//   delay {ms}                    hold the request ms, then forward it
//   reset                         close the connection with a TCP reset, nothing forwarded
//   answer {status, body, type}   answer this without forwarding (type: the Content-Type)
//   lose                          forward, then reset the connection instead of answering: the
//                                 write reached the server, its answer never came back
//   truncate                      forward, answer 200 with the first half of the server's body
//   kill {pid}                    SIGKILL the server, then forward (it is gone mid-request)
// Usage: node fault-proxy.js TARGET_PORT
'use strict';
const http = require('http');
const path = require('path');
const {spawn} = require('child_process');

const targetPort = Number(process.argv[2]);
const agent = new http.Agent({keepAlive: true});
let queue = [];
let otherwise = {do: 'pass'};
let counts = {requests: 0, forwarded: 0, answered: 0};
let restarted = null;

function forward(request, body, onReply, onError) {
    counts.forwarded++;
    const outgoing = http.request({
        host: '127.0.0.1', port: targetPort, method: request.method, path: request.url,
        headers: request.headers, agent,
    }, (reply) => {
        const chunks = [];
        reply.on('data', (chunk) => chunks.push(chunk));
        reply.on('end', () => {
            counts.answered++;
            onReply(reply, Buffer.concat(chunks));
        });
        reply.on('error', onError);
    });
    outgoing.on('error', onError);
    outgoing.end(body);
}

function answer(response, status, type, body) {
    response.writeHead(status, {'Content-Type': type, 'Content-Length': Buffer.byteLength(body)});
    response.end(body);
}

function handle(request, response, body) {
    const action = queue.length > 0 ? queue.shift() : otherwise;
    counts.requests++;
    // The server gone (killed, say): the client sees its connection reset, as it would.
    const reset = () => request.socket.resetAndDestroy();
    const relay = (reply, replyBody) => {
        response.writeHead(reply.statusCode, reply.headers);
        response.end(replyBody);
    };
    switch (action.do) {
    case 'pass':
        return forward(request, body, relay, reset);
    case 'delay':
        return setTimeout(() => forward(request, body, relay, reset), action.ms);
    case 'reset':
        return reset();
    case 'answer':
        return answer(response, action.status, action.type || 'application/x-amz-json-1.0',
            action.body || '');
    case 'lose':
        return forward(request, body, () => reset(), reset);
    case 'truncate':
        return forward(request, body, (reply, replyBody) => answer(response, 200,
            'application/x-amz-json-1.0', replyBody.subarray(0, replyBody.length >> 1)), reset);
    case 'kill':
        process.kill(action.pid, 'SIGKILL');
        return setTimeout(() => forward(request, body, relay, reset), 100);
    default:
        return answer(response, 599, 'text/plain', `fault-proxy: unknown action ${action.do}`);
    }
}

function readBody(request, then) {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => then(Buffer.concat(chunks)));
}

const proxy = http.createServer((request, response) => {
    readBody(request, (body) => handle(request, response, body));
});
proxy.keepAliveTimeout = 60000;

function restart(storePath, response) {
    restarted = spawn(process.execPath, [path.join(__dirname, 'dynalite.js'), '0', storePath,
        String(targetPort)], {stdio: ['ignore', 'pipe', 'inherit']});
    restarted.stdout.once('data', () => answer(response, 200, 'application/json', '{}'));
    restarted.on('exit', () => {
        restarted = null;
    });
}

const control = http.createServer((request, response) => {
    readBody(request, (body) => {
        if (request.method === 'GET' && request.url === '/counts')
            return answer(response, 200, 'application/json', JSON.stringify(counts));
        const order = JSON.parse(body.toString() || '{}');
        if (request.url === '/faults') {
            queue = order.queue || [];
            otherwise = order.otherwise || {do: 'pass'};
            counts = {requests: 0, forwarded: 0, answered: 0};
            return answer(response, 200, 'application/json', '{}');
        }
        if (request.url === '/restart')
            return restart(order.path, response);
        return answer(response, 404, 'text/plain', 'unknown control request');
    });
});

proxy.listen(0, '127.0.0.1', () => {
    control.listen(0, '127.0.0.1', () => {
        process.stdout.write(`${proxy.address().port} ${control.address().port}\n`);
    });
});
for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
        if (restarted !== null)
            restarted.kill('SIGKILL');
        process.exit(0);
    });
}
