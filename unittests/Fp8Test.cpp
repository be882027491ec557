//===- Fp8Test.cpp - E4M3 encoding against a search reference ---*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// qc::fp8::encodeE4M3 (the bit recipe the host lowering also emits) against
// an independent definition: the nearest finite E4M3 value by search over
// all codes, ties to the even code, saturated to 448. Decoding is checked on
// every code against the format's definition.
//
//===----------------------------------------------------------------------===//

#include "qc/Dialect/QC/Utils/Fp8.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

namespace {

/// The value of code `c` from the format's definition.
double valueOf(int c) {
  int e = (c >> 3) & 15, m = c & 7;
  double v =
      e == 0 ? m * std::ldexp(1.0, -9) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
  return (c & 0x80) ? -v : v;
}

/// Nearest finite code by search, ties to even, saturating.
uint8_t nearest(float x) {
  double a = std::fabs(static_cast<double>(x));
  int best = 0;
  for (int c = 1; c <= 0x7e; ++c) {
    double d = std::fabs(valueOf(c) - a), bd = std::fabs(valueOf(best) - a);
    if (d < bd || (d == bd && (c & 1) == 0))
      best = c;
  }
  if (a >= 448.0)
    best = 0x7e;
  return static_cast<uint8_t>(best | (std::signbit(x) ? 0x80 : 0));
}

TEST(Fp8Test, DecodeEveryCode) {
  for (int c = 0; c < 256; ++c) {
    float v = qc::fp8::decodeE4M3(static_cast<uint8_t>(c));
    if ((c & 0x7f) == 0x7f) {
      EXPECT_TRUE(std::isnan(v)) << c;
      continue;
    }
    EXPECT_EQ(static_cast<double>(v), valueOf(c)) << c;
    EXPECT_EQ(qc::fp8::encodeE4M3(v), c) << c; // exact values round-trip
  }
}

TEST(Fp8Test, EncodeMatchesNearest) {
  std::mt19937 rng(42);
  // Magnitudes over the whole range and beyond, subnormals included.
  std::uniform_real_distribution<float> expo(-14.0f, 10.0f), sign(-1.0f, 1.0f);
  for (int i = 0; i < 200000; ++i) {
    float x = std::copysign(std::exp2(expo(rng)), sign(rng));
    ASSERT_EQ(qc::fp8::encodeE4M3(x), nearest(x)) << x;
  }
  // Midpoints between neighbouring codes: ties go to the even code.
  for (int c = 0; c < 0x7e; ++c) {
    float mid = static_cast<float>((valueOf(c) + valueOf(c + 1)) / 2);
    EXPECT_EQ(qc::fp8::encodeE4M3(mid), nearest(mid)) << c;
    EXPECT_EQ(qc::fp8::encodeE4M3(-mid), nearest(-mid)) << c;
  }
}

TEST(Fp8Test, SaturationAndSpecials) {
  EXPECT_EQ(qc::fp8::encodeE4M3(448.0f), 0x7e);
  EXPECT_EQ(qc::fp8::encodeE4M3(464.0f), 0x7e);
  EXPECT_EQ(qc::fp8::encodeE4M3(1e30f), 0x7e);
  EXPECT_EQ(qc::fp8::encodeE4M3(-INFINITY), 0xfe);
  EXPECT_EQ(qc::fp8::encodeE4M3(NAN) & 0x7f, 0x7f);
  EXPECT_EQ(qc::fp8::encodeE4M3(-0.0f), 0x80);
  EXPECT_EQ(qc::fp8::encodeE4M3(std::ldexp(1.0f, -10)), 0x00); // tie -> 0
  EXPECT_EQ(qc::fp8::encodeE4M3(3 * std::ldexp(1.0f, -10)), 0x02);
}

} // namespace
