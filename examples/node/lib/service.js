'use strict';
// An HTTP inference service for an ONNX model written by jit2onnx.
//
//   GET  /v1/metadata  -> the model's jit2onnx metadata (inputs, outputs, tolerances, ...)
//   POST /v1/infer     {"inputs": {"x": {"dims": [2, 3], "data": [...]}}}
//                   -> {"outputs": {"output": {"dtype": "float32", "dims": [2, 3], "data": [...]}}}
//
// Requests are checked against the model's recorded inputs (names, dtypes, ranks, static sizes
// and named dynamic dims); a bad request gets 400 and {"error": "<one line>"}.

const fs = require('node:fs');
const http = require('node:http');
const ort = require('onnxruntime-node');
const { readMetadataProps } = require('./onnx_pb');
const { DTYPES, fromJSON, toJSON } = require('./tensors');

const MAX_BODY = 64 * 1024 * 1024;

class RequestError extends Error {}

/** The jit2onnx metadata of an ONNX file: {inputs, outputs, tolerances, opset, version, ...}. */
function readMetadata(modelPath) {
  const props = readMetadataProps(fs.readFileSync(modelPath));
  const json = (key, fallback) => (props[`jit2onnx.${key}`] ? JSON.parse(props[`jit2onnx.${key}`]) : fallback);
  const inputs = json('inputs', null);
  if (!inputs) throw new Error(`${modelPath}: no jit2onnx.inputs metadata; convert the model with jit2onnx`);
  const outputs = json('outputs', []);
  for (const [kind, list] of [['input', inputs], ['output', outputs]]) {
    for (const t of list) {
      if (!DTYPES[t.dtype]) throw new Error(`${modelPath}: ${kind} '${t.name}' is ${t.dtype}, which this service does not handle`);
    }
  }
  return {
    version: props['jit2onnx.version'] ?? null,
    opset: Number(props['jit2onnx.opset']) || null,
    source_sha256: props['jit2onnx.source_sha256'] ?? null,
    inputs,
    outputs,
    tolerances: json('tolerances', {}),
    findings: json('findings', []),
  };
}

const shapeText = (shape) => `[${shape.map((d) => (d === null ? '?' : d)).join(',')}]`;

/** ONNX Runtime feeds from a request body, checked against the metadata; throws RequestError. */
function feedsFor(meta, body) {
  if (body === null || typeof body !== 'object' || typeof body.inputs !== 'object' || body.inputs === null) {
    throw new RequestError('the body must be a JSON object {"inputs": {NAME: {"dims": [...], "data": [...]}}}');
  }
  const names = meta.inputs.map((i) => i.name);
  const unknown = Object.keys(body.inputs).filter((n) => !names.includes(n));
  if (unknown.length) throw new RequestError(`unknown input '${unknown[0]}'; the model takes ${names.join(', ')}`);
  const sizes = {};
  const feeds = {};
  for (const spec of meta.inputs) {
    const label = `input '${spec.name}' (${spec.dtype}${shapeText(spec.shape)})`;
    const given = body.inputs[spec.name];
    if (given === undefined) throw new RequestError(`missing ${label}`);
    if (given === null || typeof given !== 'object') throw new RequestError(`${label} must be {"dims": [...], "data": [...]}`);
    if (given.dtype !== undefined && given.dtype !== spec.dtype) throw new RequestError(`${label}: got dtype ${given.dtype}`);
    const { dims, data } = given;
    if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RequestError(`${label}: "dims" must be a list of sizes`);
    }
    if (dims.length !== spec.shape.length) throw new RequestError(`${label}: got rank ${dims.length} dims ${JSON.stringify(dims)}`);
    spec.shape.forEach((want, axis) => {
      if (typeof want === 'number' && dims[axis] !== want) {
        throw new RequestError(`${label}: dim ${axis} must be ${want}, got ${dims[axis]}`);
      }
      if (typeof want === 'string') {
        if (want in sizes && sizes[want][0] !== dims[axis]) {
          throw new RequestError(`${label}: dim '${want}' is ${dims[axis]} here but ${sizes[want][0]} in input '${sizes[want][1]}'`);
        }
        sizes[want] = [dims[axis], spec.name];
      }
    });
    const count = dims.reduce((a, b) => a * b, 1);
    if (!Array.isArray(data) || data.length !== count) {
      throw new RequestError(`${label}: dims ${JSON.stringify(dims)} need ${count} values in "data", got ${Array.isArray(data) ? data.length : 'none'}`);
    }
    try {
      feeds[spec.name] = new ort.Tensor(spec.dtype, fromJSON(spec.dtype, data, label), dims);
    } catch (e) {
      throw new RequestError(e.message);
    }
  }
  return feeds;
}

/** Load the model; returns {meta, infer(body) -> Promise<response object>}. */
async function loadModel(modelPath) {
  const meta = readMetadata(modelPath);
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  const infer = async (body) => {
    const results = await session.run(feedsFor(meta, body));
    const outputs = {};
    for (const name of session.outputNames) {
      const t = results[name];
      outputs[name] = { dtype: t.type, dims: Array.from(t.dims), data: toJSON(t.type, t.data) };
    }
    return { outputs };
  };
  return { meta, infer };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new RequestError(`request body over ${MAX_BODY} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An http.Server answering /v1/metadata and /v1/infer for a loaded model. */
function createServer(model) {
  return http.createServer(async (req, res) => {
    try {
      if (req.url === '/v1/metadata' && req.method === 'GET') return reply(res, 200, model.meta);
      if (req.url !== '/v1/infer') return reply(res, 404, { error: `no route ${req.url}; use POST /v1/infer or GET /v1/metadata` });
      if (req.method !== 'POST') return reply(res, 405, { error: 'use POST for /v1/infer' });
      const text = await readBody(req);
      let body;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new RequestError(`the body is not valid JSON: ${e.message}`);
      }
      return reply(res, 200, await model.infer(body));
    } catch (e) {
      if (e instanceof RequestError) return reply(res, 400, { error: e.message });
      return reply(res, 500, { error: String(e.message || e).split('\n')[0] });
    }
  });
}

module.exports = { RequestError, createServer, feedsFor, loadModel, readMetadata };
