#!/usr/bin/env node
// An HTTPS front for a plain-HTTP test server (dynalite's own --ssl certificate has expired):
// listens on a free loopback port with the given certificate, prints the port, and forwards every
// request to http://127.0.0.1:TARGET_PORT over kept-alive connections.
// Usage: node https-proxy.js CERT.pem KEY.pem TARGET_PORT
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');

const [cert, key, targetPort] = process.argv.slice(2);
const agent = new http.Agent({keepAlive: true});
const server = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)},
    (request, response) => {
        const forward = http.request({
            host: '127.0.0.1', port: Number(targetPort), method: request.method,
            path: request.url, headers: request.headers, agent,
        }, (reply) => {
            response.writeHead(reply.statusCode, reply.headers);
            reply.pipe(response);
        });
        forward.on('error', () => {
            response.writeHead(502);
            response.end();
        });
        request.pipe(forward);
    });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => process.exit(0));
}
