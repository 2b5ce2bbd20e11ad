'use strict';
// A minimal protobuf reader for the two ONNX messages this service needs, so that no protobuf
// library or schema is required:
//   ModelProto.metadata_props (field 14): StringStringEntryProto {key = 1, value = 2}
//   TensorProto: dims = 1 (int64, packed or not), data_type = 2, name = 8, raw_data = 9
// Fields are read by number and wire type; every other field is skipped.

const WIRE_VARINT = 0;
const WIRE_64BIT = 1;
const WIRE_LEN = 2;
const WIRE_32BIT = 5;

// Yields [fieldNumber, wireType, value] for each field of one message in `buf`.
// value is a BigInt for varints, a Buffer slice for length-delimited fields, else null.
function* fields(buf) {
  let pos = 0;
  const varint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_VARINT) {
      yield [field, wire, varint()];
    } else if (wire === WIRE_LEN) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('truncated protobuf field');
      yield [field, wire, buf.subarray(pos, pos + len)];
      pos += len;
    } else if (wire === WIRE_64BIT || wire === WIRE_32BIT) {
      pos += wire === WIRE_64BIT ? 8 : 4;
      yield [field, wire, null];
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

// Packed repeated varints (proto3 default for `repeated int64`).
function packedVarints(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated packed varint');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(result);
  }
  return out;
}

/** The model-level metadata_props of a serialized ModelProto, as {key: value}. */
function readMetadataProps(modelBytes) {
  const props = {};
  for (const [field, wire, value] of fields(modelBytes)) {
    if (field !== 14 || wire !== WIRE_LEN) continue;
    let key = '';
    let val = '';
    for (const [f, w, v] of fields(value)) {
      if (f === 1 && w === WIRE_LEN) key = v.toString('utf8');
      if (f === 2 && w === WIRE_LEN) val = v.toString('utf8');
    }
    props[key] = val;
  }
  return props;
}

/** A serialized TensorProto with raw_data: {name, dataType, dims: number[], raw: Buffer}. */
function readTensor(tensorBytes) {
  const tensor = { name: '', dataType: 0, dims: [], raw: null };
  for (const [field, wire, value] of fields(tensorBytes)) {
    if (field === 1 && wire === WIRE_VARINT) tensor.dims.push(Number(value));
    else if (field === 1 && wire === WIRE_LEN) tensor.dims.push(...packedVarints(value).map(Number));
    else if (field === 2 && wire === WIRE_VARINT) tensor.dataType = Number(value);
    else if (field === 8 && wire === WIRE_LEN) tensor.name = value.toString('utf8');
    else if (field === 9 && wire === WIRE_LEN) tensor.raw = value;
  }
  if (tensor.raw === null) {
    throw new Error(`tensor '${tensor.name}' has no raw_data (only raw_data tensors are read)`);
  }
  return tensor;
}

module.exports = { readMetadataProps, readTensor };
