//===- XXHash64.h - Streaming XXH64 (header-only) ---------------*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// XXH64 (seed 0), the checksum of every .qcw weights section and the hash
// behind the module identity (docs/module-format.md "Integrity"). Header
// only and dependency free: the runtime (no LLVM) and the compiler share it.
// Bit-identical to the reference XXH64 and to llvm::xxHash64 (tested in
// unittests/RuntimeTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QC_RUNTIME_XXHASH64_H
#define QC_RUNTIME_XXHASH64_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qc {

class XXHash64 {
public:
  explicit XXHash64(uint64_t seed = 0) {
    v[0] = seed + P1 + P2;
    v[1] = seed + P2;
    v[2] = seed;
    v[3] = seed - P1;
    this->seed = seed;
  }

  void update(const void *data, size_t size) {
    const unsigned char *p = static_cast<const unsigned char *>(data);
    total += size;
    if (buffered + size < 32) {
      if (size)
        memcpy(buffer + buffered, p, size);
      buffered += size;
      return;
    }
    if (buffered) {
      size_t take = 32 - buffered;
      memcpy(buffer + buffered, p, take);
      stripe(buffer);
      p += take;
      size -= take;
      buffered = 0;
    }
    while (size >= 32) {
      stripe(p);
      p += 32;
      size -= 32;
    }
    if (size)
      memcpy(buffer, p, size);
    buffered = size;
  }
  void updateU64(uint64_t x) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i)
      b[i] = static_cast<unsigned char>(x >> (8 * i));
    update(b, 8);
  }

  uint64_t digest() const {
    uint64_t h;
    if (total >= 32) {
      h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
      for (int i = 0; i < 4; ++i)
        h = merge(h, v[i]);
    } else {
      h = seed + P5;
    }
    h += total;
    const unsigned char *p = buffer;
    size_t n = buffered;
    while (n >= 8) {
      h ^= round(0, read64(p));
      h = rotl(h, 27) * P1 + P4;
      p += 8;
      n -= 8;
    }
    if (n >= 4) {
      h ^= static_cast<uint64_t>(read32(p)) * P1;
      h = rotl(h, 23) * P2 + P3;
      p += 4;
      n -= 4;
    }
    while (n--) {
      h ^= (*p++) * P5;
      h = rotl(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
  }

  static uint64_t hash(const void *data, size_t size) {
    XXHash64 h;
    h.update(data, size);
    return h.digest();
  }

private:
  static constexpr uint64_t P1 = 0x9E3779B185EBCA87ULL;
  static constexpr uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
  static constexpr uint64_t P3 = 0x165667B19E3779F9ULL;
  static constexpr uint64_t P4 = 0x85EBCA77C2B2AE63ULL;
  static constexpr uint64_t P5 = 0x27D4EB2F165667C5ULL;

  static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static uint64_t read64(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
#else
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i)
      x = (x << 8) | p[i];
    return x;
#endif
  }
  static uint32_t read32(const unsigned char *p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }
  static uint64_t round(uint64_t acc, uint64_t input) {
    acc += input * P2;
    acc = rotl(acc, 31);
    return acc * P1;
  }
  static uint64_t merge(uint64_t acc, uint64_t val) {
    acc ^= round(0, val);
    return acc * P1 + P4;
  }
  void stripe(const unsigned char *p) {
    v[0] = round(v[0], read64(p));
    v[1] = round(v[1], read64(p + 8));
    v[2] = round(v[2], read64(p + 16));
    v[3] = round(v[3], read64(p + 24));
  }

  uint64_t v[4];
  uint64_t seed;
  uint64_t total = 0;
  unsigned char buffer[32];
  size_t buffered = 0;
};

} // namespace qc

#endif // QC_RUNTIME_XXHASH64_H
