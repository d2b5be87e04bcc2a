#!/usr/bin/env node
// dynalite on a free loopback port: prints the port on stdout, then serves until killed.
// (`dynalite --port 0` is taken as "no port" and listens on 4567, hence the Node API.)
// Usage: node dynalite.js [createTableMs [path [port]]]
//   createTableMs: default 0 (new tables are ACTIVE at once); path: a LevelDB directory that
//   outlives the process (default: in memory); port: default a free one.
'use strict';
const path = require('path');
const dynalite = require(path.join(__dirname, '..', '..', 'node_modules', 'dynalite'));

const createTableMs = Number(process.argv[2] || 0);
const storePath = process.argv[3] || undefined;
const server = dynalite({createTableMs, path: storePath});
server.listen(Number(process.argv[4] || 0), '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => server.close(() => process.exit(0)));
}
