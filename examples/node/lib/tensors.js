'use strict';
// dtypes: ONNX TensorProto data_type codes, typed arrays, and JSON <-> tensor data.

const DTYPES = {
  float32: { code: 1, Array: Float32Array, kind: 'float' },
  uint8: { code: 2, Array: Uint8Array, kind: 'int' },
  int8: { code: 3, Array: Int8Array, kind: 'int' },
  uint16: { code: 4, Array: Uint16Array, kind: 'int' },
  int16: { code: 5, Array: Int16Array, kind: 'int' },
  int32: { code: 6, Array: Int32Array, kind: 'int' },
  int64: { code: 7, Array: BigInt64Array, kind: 'bigint' },
  bool: { code: 9, Array: Uint8Array, kind: 'bool' },
  float64: { code: 11, Array: Float64Array, kind: 'float' },
};
const BY_CODE = Object.fromEntries(Object.entries(DTYPES).map(([name, d]) => [d.code, name]));

/** Name, dtype name, dims and typed array of a TensorProto read by onnx_pb.readTensor. */
function fromProto(tensor) {
  const dtype = BY_CODE[tensor.dataType];
  if (!dtype) throw new Error(`tensor '${tensor.name}': unsupported data_type ${tensor.dataType}`);
  const { Array: TypedArray } = DTYPES[dtype];
  const copy = new Uint8Array(tensor.raw); // aligned copy (raw_data is little-endian)
  const data = new TypedArray(copy.buffer, 0, copy.length / TypedArray.BYTES_PER_ELEMENT);
  return { name: tensor.name, dtype, dims: tensor.dims, data };
}

/** Plain JSON values of a tensor's data: numbers, booleans, "NaN"/"Infinity", big int64 as strings. */
function toJSON(dtype, data) {
  const kind = DTYPES[dtype].kind;
  const out = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (kind === 'bool') out[i] = v !== 0;
    else if (kind === 'bigint') out[i] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (kind === 'float' && !Number.isFinite(v)) out[i] = String(v);
    else out[i] = v;
  }
  return out;
}

/** A typed array for `dtype` from JSON values; throws Error(message) naming the first bad value. */
function fromJSON(dtype, values, label) {
  const { Array: TypedArray, kind } = DTYPES[dtype];
  const out = new TypedArray(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const bad = () => new Error(`${label} value ${i} (${JSON.stringify(v)}) is not a valid ${dtype}`);
    if (kind === 'bool') {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw bad();
      out[i] = v ? 1 : 0;
    } else if (kind === 'bigint') {
      if (!(Number.isInteger(v) || (typeof v === 'string' && /^-?\d+$/.test(v)))) throw bad();
      out[i] = BigInt(v);
      if (out[i] !== BigInt(v)) throw bad();
    } else if (kind === 'int') {
      if (!Number.isInteger(v)) throw bad();
      out[i] = v;
      if (out[i] !== v) throw bad();
    } else if (typeof v === 'number') {
      out[i] = v;
    } else if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') {
      out[i] = Number(v);
    } else {
      throw bad();
    }
  }
  return out;
}

module.exports = { DTYPES, fromProto, fromJSON, toJSON };
