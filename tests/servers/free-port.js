#!/usr/bin/env node
// Prints a loopback TCP port that was free a moment ago, for servers that cannot pick their own.
'use strict';
const server = require('net').createServer();
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
    server.close();
});
