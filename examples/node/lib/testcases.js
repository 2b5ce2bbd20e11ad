'use strict';
// ONNX test-case directories (DIR/model.onnx + DIR/test_data_set_N/{input,output}_K.pb) and
// the tolerance check a client applies to them.

const fs = require('node:fs');
const path = require('node:path');
const { readTensor } = require('./onnx_pb');
const { fromProto, toJSON } = require('./tensors');

/** Test-case directories named by a path-delimited list: each a case dir or a dir of case dirs. */
function findCaseDirs(list) {
  const dirs = [];
  for (const entry of (list || '').split(path.delimiter).filter(Boolean)) {
    if (fs.existsSync(path.join(entry, 'model.onnx'))) {
      dirs.push(entry);
      continue;
    }
    for (const name of fs.readdirSync(entry).sort()) {
      if (fs.existsSync(path.join(entry, name, 'model.onnx'))) dirs.push(path.join(entry, name));
    }
  }
  return dirs;
}

function readTensors(folder, kind) {
  const files = fs.readdirSync(folder).filter((f) => new RegExp(`^${kind}_\\d+\\.pb$`).test(f));
  files.sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
  return files.map((f) => {
    const file = path.join(folder, f);
    return { file, ...fromProto(readTensor(fs.readFileSync(file))) };
  });
}

/** The data sets of a case dir: [{name, inputs: [...], outputs: [...]}] with typed arrays. */
function readDataSets(caseDir) {
  return fs
    .readdirSync(caseDir)
    .filter((n) => /^test_data_set_\d+$/.test(n))
    .sort((a, b) => Number(a.split('_').pop()) - Number(b.split('_').pop()))
    .map((name) => ({
      name,
      inputs: readTensors(path.join(caseDir, name), 'input'),
      outputs: readTensors(path.join(caseDir, name), 'output'),
    }));
}

/** The request body for a data set's inputs. */
function requestBody(dataSet) {
  const inputs = {};
  for (const t of dataSet.inputs) inputs[t.name] = { dims: t.dims, data: toJSON(t.dtype, t.data) };
  return { inputs };
}

const asNumber = (v) => Number(v); // JSON values: numbers, booleans, "NaN"/"Infinity", int64 strings

/**
 * Compare one expected output tensor with a response output: same dtype and dims, and every
 * element within |actual - expected| <= atol + rtol * |expected| (NaN must meet NaN, infinities
 * must be equal). Returns null when it matches, else a one-line reason.
 */
function mismatch(expected, actual, tol) {
  if (!actual) return 'missing from the response';
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (JSON.stringify(actual.dims) !== JSON.stringify(expected.dims)) {
    return `dims ${JSON.stringify(actual.dims)}, expected ${JSON.stringify(expected.dims)}`;
  }
  const want = toJSON(expected.dtype, expected.data).map(asNumber);
  const got = actual.data.map(asNumber);
  let bad = 0;
  let worst = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    const e = want[i];
    const a = got[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) && e === a) continue;
    const diff = Math.abs(a - e);
    if (!(diff <= tol.atol + tol.rtol * (Number.isFinite(e) ? Math.abs(e) : 0))) {
      bad += 1;
      if (first < 0) first = i;
      worst = Number.isNaN(diff) ? NaN : Math.max(worst, diff);
    }
  }
  if (bad === 0) return null;
  return `${bad} of ${want.length} values out of tolerance (max abs diff ${worst}, rtol ${tol.rtol}, atol ${tol.atol}; first at index ${first}: expected ${want[first]}, got ${got[first]})`;
}

module.exports = { findCaseDirs, mismatch, readDataSets, requestBody };
