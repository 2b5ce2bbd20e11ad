#!/usr/bin/env node
'use strict';
// Usage: node server.js MODEL.onnx [--port 8080] [--host 127.0.0.1]
const { createServer, loadModel } = require('./lib/service');

async function main(argv) {
  const args = { port: 8080, host: '127.0.0.1' };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') args.port = Number(argv[++i]);
    else if (argv[i] === '--host') args.host = argv[++i];
    else rest.push(argv[i]);
  }
  if (rest.length !== 1 || !Number.isInteger(args.port)) {
    console.error('usage: node server.js MODEL.onnx [--port 8080] [--host 127.0.0.1]');
    process.exit(2);
  }
  const model = await loadModel(rest[0]);
  const server = createServer(model);
  server.listen(args.port, args.host, () => {
    const { port } = server.address();
    console.log(`serving ${rest[0]} on http://${args.host}:${port}/v1/infer`);
  });
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`error: ${String(e.message || e).split('\n')[0]}`);
  process.exit(1);
});
