//===- Npy.cpp - .npy reader and writer -----------------------------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// NumPy's .npy format: "\x93NUMPY", major/minor version, a little-endian
// header length (2 bytes in v1, 4 in v2/v3), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces to a multiple of 64 and ended by '\n', then the raw data.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

using namespace qcrt;

namespace {

struct Descr {
  const char *text; // without byte-order character
  qcrt_dtype dtype;
};
const Descr kDescrs[] = {{"f4", QCRT_F32}, {"f8", QCRT_F64}, {"f2", QCRT_F16},
                         {"i1", QCRT_I8},  {"i2", QCRT_I16}, {"i4", QCRT_I32},
                         {"i8", QCRT_I64}, {"u1", QCRT_U8},  {"b1", QCRT_BOOL}};

/// Finds the value text following `'key':` in the header dict.
bool findKey(const std::string &header, const char *key, size_t &pos) {
  std::string k = std::string("'") + key + "'";
  size_t at = header.find(k);
  if (at == std::string::npos)
    return false;
  at = header.find(':', at + k.size());
  if (at == std::string::npos)
    return false;
  pos = at + 1;
  while (pos < header.size() && header[pos] == ' ')
    ++pos;
  return true;
}

} // namespace

extern "C" {

qcrt_status qcrt_npy_read(const char *path, qcrt_tensor *tensor) {
  if (!path || !tensor)
    return fail(QCRT_ERR_INVALID_ARG, "qcrt_npy_read: null argument");
  memset(tensor, 0, sizeof(*tensor));
  std::string data, error;
  if (!readFile(path, data, error))
    return fail(QCRT_ERR_IO, error);
  auto bad = [&](const std::string &why) {
    return fail(QCRT_ERR_FORMAT,
                format("malformed npy file '%s': %s", path, why.c_str()));
  };
  if (data.size() < 10 || memcmp(data.data(), "\x93NUMPY", 6) != 0)
    return bad("bad magic (not a .npy file)");
  unsigned major = static_cast<unsigned char>(data[6]);
  size_t headerLen, headerStart;
  const unsigned char *u = reinterpret_cast<const unsigned char *>(data.data());
  if (major == 1) {
    headerLen = u[8] | (u[9] << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return bad("truncated header");
    headerLen =
        u[8] | (u[9] << 8) | (u[10] << 16) | (static_cast<size_t>(u[11]) << 24);
    headerStart = 12;
  } else {
    return bad(format("unsupported version %u", major));
  }
  if (headerStart + headerLen > data.size())
    return bad("truncated header");
  std::string header = data.substr(headerStart, headerLen);
  size_t pos;
  // descr
  if (!findKey(header, "descr", pos) || pos >= header.size() ||
      (header[pos] != '\'' && header[pos] != '"'))
    return bad("no 'descr' in header");
  size_t end = header.find(header[pos], pos + 1);
  if (end == std::string::npos)
    return bad("unterminated 'descr'");
  std::string descr = header.substr(pos + 1, end - pos - 1);
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|' &&
                            descr[0] != '>' && descr[0] != '='))
    return bad(format("unsupported dtype '%s'", descr.c_str()));
  qcrt_dtype dtype = QCRT_DTYPE_INVALID;
  for (const Descr &d : kDescrs)
    if (descr.compare(1, 2, d.text) == 0)
      dtype = d.dtype;
  if (dtype == QCRT_DTYPE_INVALID)
    return bad(format("unsupported dtype '%s'", descr.c_str()));
  if (descr[0] == '>' && qcrt_dtype_size(dtype) > 1)
    return bad("big-endian data is not supported");
  // fortran_order
  if (!findKey(header, "fortran_order", pos))
    return bad("no 'fortran_order' in header");
  if (header.compare(pos, 4, "True") == 0)
    return bad("Fortran-order arrays are not supported (use C order)");
  if (header.compare(pos, 5, "False") != 0)
    return bad("invalid 'fortran_order'");
  // shape
  if (!findKey(header, "shape", pos) || pos >= header.size() ||
      header[pos] != '(')
    return bad("no 'shape' in header");
  end = header.find(')', pos);
  if (end == std::string::npos)
    return bad("unterminated 'shape'");
  std::string dims = header.substr(pos + 1, end - pos - 1);
  int32_t rank = 0;
  const char *p = dims.c_str();
  while (*p) {
    while (*p == ' ' || *p == ',')
      ++p;
    if (!*p)
      break;
    char *q;
    errno = 0;
    long long v = strtoll(p, &q, 10);
    if (q == p || v < 0 || errno == ERANGE)
      return bad("invalid 'shape'");
    if (rank == QCRT_MAX_RANK)
      return bad(format("rank exceeds %d", QCRT_MAX_RANK));
    tensor->shape[rank++] = v;
    p = q;
    while (*p == ' ' || *p == 'L')
      ++p;
    if (*p && *p != ',')
      return bad("invalid 'shape'");
  }
  tensor->rank = rank;
  tensor->dtype = dtype;
  // Checked: a shape whose byte count wraps around must not pass the size
  // comparison below.
  uint64_t bytes;
  std::string why;
  if (!checkedTensorBytes(dtype, tensor->shape, rank, bytes, why)) {
    memset(tensor, 0, sizeof(*tensor));
    return bad(why);
  }
  size_t dataStart = headerStart + headerLen;
  if (data.size() - dataStart < bytes) {
    size_t have = data.size() - dataStart;
    memset(tensor, 0, sizeof(*tensor));
    return bad(format("truncated data: shape needs %llu bytes, file has %zu",
                      static_cast<unsigned long long>(bytes), have));
  }
  if (data.size() - dataStart > bytes) {
    memset(tensor, 0, sizeof(*tensor));
    return bad(format(
        "%llu trailing bytes after the data",
        static_cast<unsigned long long>(data.size() - dataStart - bytes)));
  }
  void *buffer = malloc(bytes ? bytes : 1);
  if (!buffer) {
    memset(tensor, 0, sizeof(*tensor));
    return fail(QCRT_ERR_RUNTIME, "out of memory reading npy");
  }
  memcpy(buffer, data.data() + dataStart, bytes);
  tensor->data = buffer;
  tensor->owner = buffer;
  tensor->device = QCRT_DEVICE_HOST;
  return QCRT_OK;
}

qcrt_status qcrt_npy_write(const char *path, const qcrt_tensor *tensor) {
  if (!path || !tensor)
    return fail(QCRT_ERR_INVALID_ARG, "qcrt_npy_write: null argument");
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == tensor->dtype)
      descr = d.text;
  if (!descr)
    return fail(QCRT_ERR_UNSUPPORTED,
                format("cannot write dtype %s to npy '%s'",
                       qcrt_dtype_name(tensor->dtype), path));
  char order = qcrt_dtype_size(tensor->dtype) == 1 ? '|' : '<';
  std::string shape = "(";
  for (int32_t i = 0; i < tensor->rank; ++i)
    shape += std::to_string(tensor->shape[i]) +
             (tensor->rank == 1 ? "," : (i + 1 < tensor->rank ? ", " : ""));
  shape += ")";
  std::string dict = format("{'descr': '%c%s', 'fortran_order': False, "
                            "'shape': %s, }",
                            order, descr, shape.c_str());
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict.append(pad, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  out += dict;
  uint64_t bytes;
  std::string why;
  if (!checkedTensorBytes(tensor->dtype, tensor->shape, tensor->rank, bytes,
                          why))
    return fail(QCRT_ERR_INVALID_ARG,
                format("cannot write npy '%s': %s", path, why.c_str()));
  if (bytes && !tensor->data)
    return fail(QCRT_ERR_INVALID_ARG,
                format("cannot write npy '%s': null data", path));
  out.append(static_cast<const char *>(tensor->data), bytes);
  std::string error;
  if (!writeFileAtomic(path, out.data(), out.size(), error))
    return fail(QCRT_ERR_IO, error);
  return QCRT_OK;
}

} // extern "C"
