'use strict';
// Runs every test-case directory named by JIT2ONNX_TEST_CASES (a path-delimited list of case dirs
// or dirs of case dirs) through the HTTP service on a loopback port, and compares each output
// with the TorchScript original's within the tolerances recorded in the model.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { createServer, loadModel } = require('../lib/service');
const { findCaseDirs, mismatch, readDataSets, requestBody } = require('../lib/testcases');

const caseDirs = findCaseDirs(process.env.JIT2ONNX_TEST_CASES);

test('test-case directories are given', () => {
  assert.ok(caseDirs.length > 0, 'set JIT2ONNX_TEST_CASES to test-case directories written by jit2onnx --emit-test-data');
});

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

for (const caseDir of caseDirs) {
  describe(caseDir, () => {
    let server;
    let url;
    let meta;
    before(async () => {
      const model = await loadModel(`${caseDir}/model.onnx`);
      meta = model.meta;
      server = createServer(model);
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${server.address().port}/v1/infer`;
    });
    after(() => new Promise((resolve) => server.close(resolve)));

    for (const dataSet of readDataSets(caseDir)) {
      test(dataSet.name, async () => {
        const { status, json } = await post(url, requestBody(dataSet));
        assert.equal(status, 200, `HTTP ${status}: ${JSON.stringify(json)}`);
        for (const expected of dataSet.outputs) {
          const tol = meta.tolerances[expected.name];
          assert.ok(tol, `no tolerance recorded for output '${expected.name}'`);
          const reason = mismatch(expected, json.outputs[expected.name], tol);
          assert.equal(reason, null, `MISMATCH ${expected.file} (${expected.name}): ${reason}`);
        }
      });
    }
  });
}
