/*
 * ort_testcase: run an ONNX test-case directory written by jit2onnx --emit-test-data through the
 * ONNX Runtime C API and compare every output with the recorded one.
 *
 *   usage: ort_testcase LIBONNXRUNTIME CASE_DIR
 *
 * LIBONNXRUNTIME is loaded at run time (dlopen), e.g. the libonnxruntime.so.1.x the Python wheel
 * ships in site-packages/onnxruntime/capi/. The program asks it for the API version of the
 * header it was compiled with (ORT_API_VERSION); newer libraries serve older API versions.
 *
 * CASE_DIR holds model.onnx and test_data_set_<n>/{input,output}_<k>.pb: serialized
 * onnx.TensorProto messages with their values in raw_data. Tolerances come from the model's
 * "jit2onnx.tolerances" metadata: {"<output>": {"rtol": r, "atol": a}, ...}. An element
 * matches when |actual - expected| <= atol + rtol * |expected|; NaN must meet NaN and an infinity
 * the same infinity.
 *
 * Exit status: 0 every output matches, 1 a mismatch (one "MISMATCH ..." line), 2 any other error.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnxruntime_c_api.h"

static const OrtApi *ort;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "ort_testcase: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(2);
}

static void check(OrtStatus *status, const char *what) {
  if (status == NULL) return;
  char line[1024];
  snprintf(line, sizeof line, "%s", ort->GetErrorMessage(status));
  line[strcspn(line, "\n")] = '\0';
  ort->ReleaseStatus(status);
  die(what, line);
}

/* dir + "/" + name into out, or die when it does not fit. */
static void join(char *out, size_t size, const char *dir, const char *name) {
  int n = snprintf(out, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size) die("path too long", dir);
}

/* ---- A TensorProto reader: dims = 1, data_type = 2, name = 8, raw_data = 9; rest skipped. ---- */

typedef struct {
  char name[256];
  int32_t data_type;
  int64_t dims[16];
  size_t rank;
  const uint8_t *raw; /* points into the file buffer */
  size_t raw_len;
  uint8_t *buffer;
} Tensor;

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t byte = *(*p)++;
    value |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = value;
      return 0;
    }
  }
  return -1;
}

static int add_dim(Tensor *t, uint64_t d) {
  if (t->rank >= sizeof t->dims / sizeof t->dims[0]) return -1;
  t->dims[t->rank++] = (int64_t)d;
  return 0;
}

/* Parse one message; returns 0 or -1 on malformed input. */
static int parse_tensor(const uint8_t *p, const uint8_t *end, Tensor *t) {
  while (p < end) {
    uint64_t tag, value, len;
    if (varint(&p, end, &tag)) return -1;
    unsigned field = (unsigned)(tag >> 3), wire = (unsigned)(tag & 7);
    if (wire == 0) {
      if (varint(&p, end, &value)) return -1;
      if (field == 1 && add_dim(t, value)) return -1;
      if (field == 2) t->data_type = (int32_t)value;
    } else if (wire == 2) {
      if (varint(&p, end, &len) || len > (uint64_t)(end - p)) return -1;
      const uint8_t *field_end = p + len;
      if (field == 1) { /* packed dims */
        while (p < field_end)
          if (varint(&p, field_end, &value) || add_dim(t, value)) return -1;
      } else if (field == 8) {
        size_t n = len < sizeof t->name - 1 ? len : sizeof t->name - 1;
        memcpy(t->name, p, n);
        t->name[n] = '\0';
      } else if (field == 9) {
        t->raw = p;
        t->raw_len = len;
      }
      p = field_end;
    } else if (wire == 1 || wire == 5) {
      size_t skip = wire == 1 ? 8 : 4;
      if ((size_t)(end - p) < skip) return -1;
      p += skip;
    } else {
      return -1;
    }
  }
  return 0;
}

static int read_tensor(const char *path, Tensor *t) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) != 0) die("cannot stat", path);
  t->buffer = malloc((size_t)st.st_size + 1);
  if (!t->buffer || fread(t->buffer, 1, (size_t)st.st_size, f) != (size_t)st.st_size) die("cannot read", path);
  fclose(f);
  if (parse_tensor(t->buffer, t->buffer + st.st_size, t)) die("not a TensorProto", path);
  if (!t->raw && st.st_size > 0) die("no raw_data (only raw_data tensors are read)", path);
  return 0;
}

/* ---- Elements as doubles. ONNX TensorProto data types equal ONNXTensorElementDataType. ---- */

static size_t element_size(int32_t type) {
  switch (type) {
    case 2: case 3: case 9: return 1;               /* uint8, int8, bool */
    case 4: case 5: case 10: return 2;              /* uint16, int16, float16 */
    case 1: case 6: case 12: return 4;              /* float, int32, uint32 */
    case 7: case 11: case 13: return 8;             /* int64, double, uint64 */
    default: return 0;
  }
}

static double half_to_double(uint16_t h) {
  int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return sign * ldexp(mantissa + 1024, exponent - 25);
}

static double element(const void *data, int32_t type, size_t i) {
  const uint8_t *b = (const uint8_t *)data + i * element_size(type);
  union { float f; double d; int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
          uint32_t u32; int64_t i64; uint64_t u64; } v;
  memcpy(&v, b, element_size(type));
  switch (type) {
    case 1: return v.f;
    case 2: case 9: return v.u8;
    case 3: return v.i8;
    case 4: return v.u16;
    case 5: return v.i16;
    case 6: return v.i32;
    case 7: return (double)v.i64;
    case 10: return half_to_double(v.u16);
    case 11: return v.d;
    case 12: return v.u32;
    default: return (double)v.u64;
  }
}

/* ---- Tolerances from the "jit2onnx.tolerances" JSON object, by output name. ---- */

static int tolerance_for(const char *json, const char *name, double *rtol, double *atol) {
  char key[300];
  snprintf(key, sizeof key, "\"%s\":", name);
  const char *at = strstr(json, key);
  if (!at) return -1;
  const char *close = strchr(at, '}');
  const char *r = strstr(at, "\"rtol\":"), *a = strstr(at, "\"atol\":");
  if (!close || !r || !a || r > close || a > close) return -1;
  *rtol = strtod(r + 7, NULL);
  *atol = strtod(a + 7, NULL);
  return 0;
}

/* ---- Compare one output; prints the MISMATCH line and returns 1 on mismatch. ---- */

static int compare(const char *file, const char *name, const Tensor *want, OrtValue *value,
                   double rtol, double atol) {
  OrtTensorTypeAndShapeInfo *info;
  check(ort->GetTensorTypeAndShape(value, &info), "output shape");
  ONNXTensorElementDataType type;
  size_t rank, count;
  int64_t dims[16];
  check(ort->GetTensorElementType(info, &type), "output type");
  check(ort->GetDimensionsCount(info, &rank), "output rank");
  if (rank > 16) die("output rank over 16", name);
  check(ort->GetDimensions(info, dims, rank), "output dims");
  check(ort->GetTensorShapeElementCount(info, &count), "output size");
  ort->ReleaseTensorTypeAndShapeInfo(info);
  if ((int32_t)type != want->data_type || rank != want->rank ||
      memcmp(dims, want->dims, rank * sizeof dims[0]) != 0) {
    printf("MISMATCH %s (%s): got type %d rank %zu, expected type %d rank %zu (or other dims)\n",
           file, name, (int)type, rank, want->data_type, want->rank);
    return 1;
  }
  if (count * element_size(want->data_type) != want->raw_len) die("raw_data size does not fit dims", file);
  void *data;
  check(ort->GetTensorMutableData(value, &data), "output data");
  size_t bad = 0, first = 0;
  double worst = 0.0;
  for (size_t i = 0; i < count; i++) {
    double e = element(want->raw, want->data_type, i), a = element(data, want->data_type, i);
    if ((isnan(e) && isnan(a)) || (isinf(e) && e == a)) continue;
    double diff = fabs(a - e);
    if (!(diff <= atol + rtol * (isfinite(e) ? fabs(e) : 0.0))) {
      if (bad++ == 0) first = i;
      worst = isnan(diff) || diff > worst ? diff : worst;
    }
  }
  if (!bad) return 0;
  printf("MISMATCH %s (%s): %zu of %zu values out of tolerance (max abs diff %g, rtol %g, atol %g; "
         "first at index %zu: expected %.9g, got %.9g)\n",
         file, name, bad, count, worst, rtol, atol, first,
         element(want->raw, want->data_type, first), element(data, want->data_type, first));
  return 1;
}

/* ---- One data set: read inputs, run, compare outputs. Returns the number of mismatches. ---- */

typedef struct {
  OrtSession *session;
  OrtMemoryInfo *memory;
  size_t n_in, n_out;
  char **in_names, **out_names;
  double *rtol, *atol;
} Model;

static int run_data_set(const Model *m, const char *folder) {
  char path[4096];
  Tensor *inputs = calloc(m->n_in, sizeof *inputs);
  OrtValue **in_values = calloc(m->n_in, sizeof *in_values);
  OrtValue **out_values = calloc(m->n_out, sizeof *out_values);
  const char **in_names = calloc(m->n_in, sizeof *in_names);
  for (size_t k = 0; k < m->n_in; k++) {
    char name[64];
    snprintf(name, sizeof name, "input_%zu.pb", k);
    join(path, sizeof path, folder, name);
    if (read_tensor(path, &inputs[k])) die("cannot open", path);
    in_names[k] = inputs[k].name;
    check(ort->CreateTensorWithDataAsOrtValue(m->memory, (void *)inputs[k].raw, inputs[k].raw_len,
                                              inputs[k].dims, inputs[k].rank,
                                              (ONNXTensorElementDataType)inputs[k].data_type,
                                              &in_values[k]),
          path);
  }
  check(ort->Run(m->session, NULL, in_names, (const OrtValue *const *)in_values, m->n_in,
                 (const char *const *)m->out_names, m->n_out, out_values),
        folder);
  int mismatches = 0;
  for (size_t k = 0; k < m->n_out; k++) {
    Tensor want;
    char name[64];
    snprintf(name, sizeof name, "output_%zu.pb", k);
    join(path, sizeof path, folder, name);
    if (read_tensor(path, &want)) die("cannot open", path);
    if (strcmp(want.name, m->out_names[k]) != 0) die("output name differs from the model's", path);
    mismatches += compare(path, m->out_names[k], &want, out_values[k], m->rtol[k], m->atol[k]);
    free(want.buffer);
    ort->ReleaseValue(out_values[k]);
  }
  for (size_t k = 0; k < m->n_in; k++) {
    ort->ReleaseValue(in_values[k]);
    free(inputs[k].buffer);
  }
  free(inputs), free(in_values), free(out_values), free(in_names);
  return mismatches;
}

static void load_model(Model *m, const char *case_dir) {
  char path[4096];
  OrtEnv *env;
  OrtSessionOptions *options;
  OrtAllocator *allocator;
  check(ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ort_testcase", &env), "CreateEnv");
  check(ort->CreateSessionOptions(&options), "CreateSessionOptions");
  join(path, sizeof path, case_dir, "model.onnx");
  check(ort->CreateSession(env, path, options, &m->session), path);
  check(ort->GetAllocatorWithDefaultOptions(&allocator), "allocator");
  check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &m->memory), "memory info");
  check(ort->SessionGetInputCount(m->session, &m->n_in), "input count");
  check(ort->SessionGetOutputCount(m->session, &m->n_out), "output count");
  m->in_names = calloc(m->n_in, sizeof(char *));
  m->out_names = calloc(m->n_out, sizeof(char *));
  m->rtol = calloc(m->n_out, sizeof(double));
  m->atol = calloc(m->n_out, sizeof(double));
  for (size_t k = 0; k < m->n_in; k++)
    check(ort->SessionGetInputName(m->session, k, allocator, &m->in_names[k]), "input name");
  OrtModelMetadata *meta;
  char *tolerances = NULL;
  check(ort->SessionGetModelMetadata(m->session, &meta), "model metadata");
  check(ort->ModelMetadataLookupCustomMetadataMap(meta, allocator, "jit2onnx.tolerances", &tolerances),
        "model metadata");
  if (!tolerances) die("no jit2onnx.tolerances in the model's metadata", path);
  for (size_t k = 0; k < m->n_out; k++) {
    check(ort->SessionGetOutputName(m->session, k, allocator, &m->out_names[k]), "output name");
    if (tolerance_for(tolerances, m->out_names[k], &m->rtol[k], &m->atol[k]))
      die("no tolerance recorded for output", m->out_names[k]);
  }
  ort->ReleaseModelMetadata(meta);
  ort->ReleaseSessionOptions(options);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIBONNXRUNTIME CASE_DIR\n", argv[0]);
    return 2;
  }
  const uint16_t probe = 1;
  if (*(const uint8_t *)&probe != 1) die("raw_data is little-endian; this host is not", NULL);
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) die("cannot load ONNX Runtime", dlerror());
  const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
  if (!get_base) die("not an ONNX Runtime library (no OrtGetApiBase)", argv[1]);
  const OrtApiBase *base = get_base();
  ort = base->GetApi(ORT_API_VERSION);
  if (!ort) {
    fprintf(stderr, "ort_testcase: error: ONNX Runtime %s does not serve API version %d\n",
            base->GetVersionString(), ORT_API_VERSION);
    return 2;
  }
  Model model;
  load_model(&model, argv[2]);
  int mismatches = 0, sets = 0;
  for (;; sets++) {
    char folder[4096];
    struct stat st;
    char name[64];
    snprintf(name, sizeof name, "test_data_set_%d", sets);
    join(folder, sizeof folder, argv[2], name);
    if (stat(folder, &st) != 0) break;
    int bad = run_data_set(&model, folder);
    if (!bad) printf("ok %s\n", folder);
    mismatches += bad;
  }
  if (sets == 0) die("no test_data_set_0 in", argv[2]);
  printf("%s: %d data set(s), ONNX Runtime %s (API %d): %s\n", argv[2], sets,
         base->GetVersionString(), ORT_API_VERSION, mismatches ? "FAILED" : "all outputs match");
  return mismatches ? 1 : 0;
}
