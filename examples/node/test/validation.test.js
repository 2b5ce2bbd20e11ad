'use strict';
// Bad requests get HTTP 400 with a one-line message naming the problem; checked on the first
// test-case directory of JIT2ONNX_TEST_CASES.

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const { createServer, loadModel, readMetadata } = require('../lib/service');
const { findCaseDirs, readDataSets, requestBody } = require('../lib/testcases');

const caseDirs = findCaseDirs(process.env.JIT2ONNX_TEST_CASES);
// Prefer a model whose inputs share a named dim, to check that the sizes must agree.
const caseDir = caseDirs.find((d) => sharedDim(readMetadata(`${d}/model.onnx`))) ?? caseDirs[0];
let server;
let base;
let meta;
let good;

before(async () => {
  assert.ok(caseDir, 'set JIT2ONNX_TEST_CASES to test-case directories written by jit2onnx --emit-test-data');
  const model = await loadModel(`${caseDir}/model.onnx`);
  meta = model.meta;
  good = requestBody(readDataSets(caseDir)[0]);
  server = createServer(model);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server && new Promise((resolve) => server.close(resolve)));

async function call(body, { method = 'POST', route = '/v1/infer', raw = false } = {}) {
  const init = { method, headers: { 'content-type': 'application/json' } };
  if (method === 'POST') init.body = raw ? body : JSON.stringify(body);
  const res = await fetch(base + route, init);
  return { status: res.status, json: await res.json() };
}

async function expect400(body, pattern, options) {
  const { status, json } = await call(body, options);
  assert.equal(status, 400, JSON.stringify(json));
  assert.match(json.error, pattern);
  assert.ok(!json.error.includes('\n'), 'the message is one line');
}

const clone = () => structuredClone(good);

function sharedDim(m) {
  const seen = new Map();
  for (const input of m.inputs) {
    for (const [axis, d] of input.shape.entries()) {
      if (typeof d !== 'string') continue;
      if (seen.has(d) && seen.get(d)[0] !== input.name) return { dim: d, first: seen.get(d), second: [input.name, axis] };
      if (!seen.has(d)) seen.set(d, [input.name, axis]);
    }
  }
  return null;
}

test('a good request answers 200 with every output', async () => {
  const { status, json } = await call(good);
  assert.equal(status, 200);
  assert.deepEqual(Object.keys(json.outputs), meta.outputs.map((o) => o.name));
});

test('metadata is served', async () => {
  const { status, json } = await call(null, { method: 'GET', route: '/v1/metadata' });
  assert.equal(status, 200);
  assert.deepEqual(json.inputs, meta.inputs);
  assert.ok(Object.keys(json.tolerances).length > 0);
});

test('invalid JSON', () => expect400('{"inputs": ', /^the body is not valid JSON: /, { raw: true }));

test('no inputs object', () => expect400({ x: 1 }, /^the body must be a JSON object \{"inputs"/));

test('missing input', async () => {
  const body = clone();
  const first = meta.inputs[0];
  delete body.inputs[first.name];
  await expect400(body, new RegExp(`^missing input '${first.name}' \\(${first.dtype}\\[`));
});

test('unknown input', async () => {
  const body = clone();
  body.inputs.nope = { dims: [1], data: [1] };
  await expect400(body, /^unknown input 'nope'; the model takes /);
});

test('wrong dtype', async () => {
  const body = clone();
  const first = meta.inputs[0];
  body.inputs[first.name].dtype = first.dtype === 'float64' ? 'float32' : 'float64';
  await expect400(body, new RegExp(`^input '${first.name}' .*: got dtype float`));
});

test('wrong rank', async () => {
  const body = clone();
  const first = body.inputs[meta.inputs[0].name];
  first.dims = [...first.dims, 1];
  await expect400(body, new RegExp(`: got rank ${first.dims.length} dims `));
});

test('wrong static size', async () => {
  const spec = meta.inputs.find((i) => i.shape.some((d) => typeof d === 'number'));
  assert.ok(spec, 'the model has an input with a static dim');
  const axis = spec.shape.findIndex((d) => typeof d === 'number');
  const body = clone();
  body.inputs[spec.name].dims[axis] += 1;
  await expect400(body, new RegExp(`^input '${spec.name}' .*: dim ${axis} must be ${spec.shape[axis]}, got ${spec.shape[axis] + 1}$`));
});

test('wrong number of values', async () => {
  const body = clone();
  const first = body.inputs[meta.inputs[0].name];
  first.data = first.data.slice(1);
  await expect400(body, /need \d+ values in "data", got \d+$/);
});

test('a value of the wrong type', async () => {
  const body = clone();
  body.inputs[meta.inputs[0].name].data[0] = 'seven';
  await expect400(body, /value 0 \("seven"\) is not a valid /);
});

test('unknown route and method', async () => {
  assert.equal((await call(null, { method: 'GET', route: '/nope' })).status, 404);
  assert.equal((await call(null, { method: 'GET' })).status, 405);
});

test('named dims must agree across inputs', async (t) => {
  const shared = sharedDim(meta);
  if (!shared) return t.skip(`no two inputs of ${caseDir} share a named dim`);
  const body = clone();
  const [name, axis] = shared.second;
  body.inputs[name].dims[axis] += 1;
  const count = body.inputs[name].dims.reduce((a, b) => a * b, 1);
  body.inputs[name].data = Array(count).fill(body.inputs[name].data[0]);
  await expect400(body, new RegExp(`^input '${name}' .*: dim '${shared.dim}' is \\d+ here but \\d+ in input '${shared.first[0]}'$`));
});
