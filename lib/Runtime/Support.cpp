//===- Support.cpp - qcrt errors, dtypes, JSON and file helpers -----------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace qcrt {

static thread_local std::string lastError;

bool checkedTensorBytes(qcrt_dtype dtype, const int64_t *shape, int32_t rank,
                        uint64_t &bytes, std::string &why) {
  bytes = 0;
  size_t elem = qcrt_dtype_size(dtype);
  if (!elem) {
    why = "invalid dtype";
    return false;
  }
  if (rank < 0 || rank > QCRT_MAX_RANK) {
    why = format("rank %d out of range (0..%d)", rank, QCRT_MAX_RANK);
    return false;
  }
  uint64_t n = elem;
  bool over = false;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] < 0) {
      why = format("negative dimension %lld", static_cast<long long>(shape[i]));
      return false;
    }
    if (!over && __builtin_mul_overflow(n, static_cast<uint64_t>(shape[i]), &n))
      over = true;
  }
  // A zero dimension makes the tensor empty even when the others overflow.
  for (int32_t i = 0; i < rank; ++i)
    if (shape[i] == 0) {
      bytes = 0;
      return true;
    }
  if (over || n > QCRT_MAX_TENSOR_BYTES) {
    std::string dims;
    for (int32_t i = 0; i < rank; ++i)
      dims += (i ? "x" : "") + std::to_string(shape[i]);
    why = format("tensor %s of %s is too large (%s bytes; the maximum is "
                 "%llu bytes)",
                 dims.c_str(), qcrt_dtype_name(dtype),
                 over ? "more than 2^64" : std::to_string(n).c_str(),
                 static_cast<unsigned long long>(QCRT_MAX_TENSOR_BYTES));
    return false;
  }
  bytes = n;
  return true;
}

qcrt_status fail(qcrt_status status, const std::string &message) {
  lastError = message;
  return status;
}

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char buffer[1024];
  int n = vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  if (n < 0)
    return "";
  if (static_cast<size_t>(n) < sizeof(buffer))
    return std::string(buffer, n);
  std::string big(n + 1, '\0');
  va_start(args, fmt);
  vsnprintf(&big[0], big.size(), fmt, args);
  va_end(args);
  big.resize(n);
  return big;
}

const Json *Json::get(const std::string &key) const {
  if (kind != Object)
    return nullptr;
  for (const auto &m : members)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

bool Json::isInteger() const {
  return kind == Number && std::floor(number) == number &&
         std::fabs(number) < 9.0e15;
}

namespace {
/// Recursive-descent JSON parser over a string.
class Parser {
public:
  Parser(const std::string &text) : s(text) {}

  bool parse(Json &out, std::string &error) {
    if (!value(out, 0)) {
      error = format("%s at offset %zu", err.c_str(), pos);
      return false;
    }
    ws();
    if (pos != s.size()) {
      error = format("trailing characters at offset %zu", pos);
      return false;
    }
    return true;
  }

private:
  const std::string &s;
  size_t pos = 0;
  std::string err;

  void ws() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' ||
                              s[pos] == '\t' || s[pos] == '\r'))
      ++pos;
  }
  bool bad(const char *what) {
    err = what;
    return false;
  }
  bool literal(const char *word) {
    size_t n = strlen(word);
    if (s.compare(pos, n, word) != 0)
      return bad("invalid literal");
    pos += n;
    return true;
  }
  bool string(std::string &out) {
    if (pos >= s.size() || s[pos] != '"')
      return bad("expected string");
    ++pos;
    while (pos < s.size() && s[pos] != '"') {
      char c = s[pos++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= s.size())
        return bad("unterminated escape");
      char e = s[pos++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        if (pos + 4 > s.size())
          return bad("bad \\u escape");
        unsigned code = strtoul(s.substr(pos, 4).c_str(), nullptr, 16);
        pos += 4;
        // Names are ASCII in practice; encode the BMP code point as UTF-8.
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
        break;
      }
      default:
        return bad("bad escape");
      }
    }
    if (pos >= s.size())
      return bad("unterminated string");
    ++pos;
    return true;
  }
  bool value(Json &out, int depth) {
    if (depth > 64)
      return bad("nesting too deep");
    ws();
    if (pos >= s.size())
      return bad("unexpected end of input");
    char c = s[pos];
    if (c == '{') {
      out.kind = Json::Object;
      ++pos;
      ws();
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        return true;
      }
      while (true) {
        ws();
        std::string key;
        if (!string(key))
          return false;
        ws();
        if (pos >= s.size() || s[pos] != ':')
          return bad("expected ':'");
        ++pos;
        Json v;
        if (!value(v, depth + 1))
          return false;
        out.members.emplace_back(std::move(key), std::move(v));
        ws();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
          return true;
        }
        return bad("expected ',' or '}'");
      }
    }
    if (c == '[') {
      out.kind = Json::Array;
      ++pos;
      ws();
      if (pos < s.size() && s[pos] == ']') {
        ++pos;
        return true;
      }
      while (true) {
        Json v;
        if (!value(v, depth + 1))
          return false;
        out.items.push_back(std::move(v));
        ws();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
          return true;
        }
        return bad("expected ',' or ']'");
      }
    }
    if (c == '"') {
      out.kind = Json::String;
      return string(out.str);
    }
    if (c == 't') {
      out.kind = Json::Bool;
      out.boolean = true;
      return literal("true");
    }
    if (c == 'f') {
      out.kind = Json::Bool;
      return literal("false");
    }
    if (c == 'n') {
      out.kind = Json::Null;
      return literal("null");
    }
    const char *begin = s.c_str() + pos;
    char *end = nullptr;
    errno = 0;
    double d = strtod(begin, &end);
    if (end == begin || errno == ERANGE)
      return bad("invalid number");
    pos += end - begin;
    out.kind = Json::Number;
    out.number = d;
    return true;
  }
};
} // namespace

bool parseJson(const std::string &text, Json &out, std::string &error) {
  return Parser(text).parse(out, error);
}

void appendJsonString(std::string &out, const std::string &s) {
  out += '"';
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += format("\\u%04x", c);
      else
        out += c;
    }
  }
  out += '"';
}

bool readFile(const std::string &path, std::string &data, std::string &error) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) {
    error = format("cannot open '%s': %s", path.c_str(), strerror(errno));
    return false;
  }
  data.clear();
  char buffer[1 << 16];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0)
    data.append(buffer, n);
  bool ok = !ferror(f);
  fclose(f);
  if (!ok)
    error = format("cannot read '%s'", path.c_str());
  return ok;
}

// Temporaries being written, for qcrt_remove_temporaries (called from
// signal handlers: a fixed table of strdup'd paths, read without locks).
static std::atomic<char *> temporaries[64];

int registerTemporary(const std::string &path) {
  char *copy = strdup(path.c_str());
  if (!copy)
    return -1;
  for (int i = 0; i < 64; ++i) {
    char *expected = nullptr;
    if (temporaries[i].compare_exchange_strong(expected, copy))
      return i;
  }
  free(copy);
  return -1; // table full: the file is still removed on every error path
}

void unregisterTemporary(int slot) {
  if (slot < 0)
    return;
  free(temporaries[slot].exchange(nullptr));
}

bool writeFileAtomic(const std::string &path, const void *data, size_t size,
                     std::string &error) {
  std::string tmp =
      format("%s.tmp.%d", path.c_str(), static_cast<int>(getpid()));
  int slot = registerTemporary(tmp);
  FILE *f = fopen(tmp.c_str(), "wb");
  if (!f) {
    error = format("cannot write '%s': %s", path.c_str(), strerror(errno));
    unregisterTemporary(slot);
    return false;
  }
  bool ok = size == 0 || fwrite(data, 1, size, f) == size;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    error = format("cannot write '%s': %s", path.c_str(), strerror(errno));
    remove(tmp.c_str());
    unregisterTemporary(slot);
    return false;
  }
  unregisterTemporary(slot);
  return true;
}

} // namespace qcrt

using namespace qcrt;

extern "C" {

const char *qcrt_last_error(void) { return lastError.c_str(); }

void qcrt_remove_temporaries(void) {
  for (auto &slot : qcrt::temporaries)
    if (char *p = slot.load())
      unlink(p);
}

const char *qcrt_status_name(qcrt_status status) {
  switch (status) {
  case QCRT_OK:
    return "ok";
  case QCRT_ERR_IO:
    return "io error";
  case QCRT_ERR_FORMAT:
    return "format error";
  case QCRT_ERR_VERSION:
    return "version mismatch";
  case QCRT_ERR_TARGET:
    return "unsupported target";
  case QCRT_ERR_INVALID_ARG:
    return "invalid argument";
  case QCRT_ERR_NOT_FOUND:
    return "not found";
  case QCRT_ERR_UNSUPPORTED:
    return "unsupported";
  case QCRT_ERR_RUNTIME:
    return "runtime error";
  }
  return "unknown status";
}

static const struct {
  qcrt_dtype dtype;
  const char *name;
  size_t size;
} dtypeTable[] = {
    {QCRT_F32, "f32", 4},   {QCRT_F64, "f64", 8}, {QCRT_F16, "f16", 2},
    {QCRT_BF16, "bf16", 2}, {QCRT_I8, "i8", 1},   {QCRT_I16, "i16", 2},
    {QCRT_I32, "i32", 4},   {QCRT_I64, "i64", 8}, {QCRT_U8, "u8", 1},
    {QCRT_BOOL, "i1", 1},
};

const char *qcrt_dtype_name(qcrt_dtype dtype) {
  for (const auto &e : dtypeTable)
    if (e.dtype == dtype)
      return e.name;
  return "invalid";
}

qcrt_dtype qcrt_dtype_from_name(const char *name) {
  if (!name)
    return QCRT_DTYPE_INVALID;
  for (const auto &e : dtypeTable)
    if (strcmp(e.name, name) == 0)
      return e.dtype;
  return QCRT_DTYPE_INVALID;
}

size_t qcrt_dtype_size(qcrt_dtype dtype) {
  for (const auto &e : dtypeTable)
    if (e.dtype == dtype)
      return e.size;
  return 0;
}

int64_t qcrt_tensor_numel(const qcrt_tensor *tensor) {
  if (!tensor || tensor->rank < 0 || tensor->rank > QCRT_MAX_RANK)
    return -1;
  int64_t n = 1;
  for (int32_t i = 0; i < tensor->rank; ++i) {
    if (tensor->shape[i] < 0 || __builtin_mul_overflow(n, tensor->shape[i], &n))
      return -1;
  }
  return n;
}

qcrt_status qcrt_tensor_bytes(const qcrt_tensor *tensor, uint64_t *bytes) {
  if (!tensor || !bytes)
    return fail(QCRT_ERR_INVALID_ARG, "qcrt_tensor_bytes: null argument");
  std::string why;
  if (!qcrt::checkedTensorBytes(tensor->dtype, tensor->shape, tensor->rank,
                                *bytes, why))
    return fail(QCRT_ERR_INVALID_ARG, why);
  return QCRT_OK;
}

void qcrt_tensor_free(qcrt_tensor *tensor) {
  if (!tensor)
    return;
  if (tensor->owner && tensor->device == QCRT_DEVICE_CUDA)
    qcrt::cudaFree(tensor->owner); // device buffers (GPU modules)
  else if (tensor->owner)
    free(tensor->owner);
  memset(tensor, 0, sizeof(*tensor));
}

} // extern "C"
