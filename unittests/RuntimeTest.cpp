//===- RuntimeTest.cpp - qcrt readers under hostile input -----------------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// Regression tests of docs/reliability.md for the runtime's readers: size
// arithmetic that would wrap around, .npy headers with hostile shapes,
// NaN/Inf calibration data, and the XXH64 used for .qcw checksums.
//
//===----------------------------------------------------------------------===//

#include "qc/Runtime/PtxEntries.h"
#include "qc/Runtime/XXHash64.h"
#include "qc/Runtime/qcrt.h"

#include "llvm/Support/xxhash.h"
#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::string tempPath(const std::string &name) {
  const char *dir = getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/qc-rt-test-" +
         std::to_string(getpid()) + "-" + name;
}

/// Writes a v1 .npy file with `dict` as header and `payload` bytes of data.
std::string writeNpy(const std::string &name, const std::string &dict,
                     size_t payload) {
  std::string header = dict;
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string file = "\x93NUMPY";
  file += '\x01';
  file += '\x00';
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  file += header;
  file.append(payload, '\0');
  std::string path = tempPath(name);
  std::ofstream(path, std::ios::binary) << file;
  return path;
}

TEST(XXHash64, MatchesLLVM) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t n : {0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 1000}) {
    uint64_t ref = llvm::xxHash64(llvm::ArrayRef<uint8_t>(data.data(), n));
    EXPECT_EQ(qc::XXHash64::hash(data.data(), n), ref) << n;
    // Streaming in uneven pieces gives the same digest.
    qc::XXHash64 h;
    for (size_t at = 0; at < n;) {
      size_t piece = std::min<size_t>(n - at, 1 + at % 13);
      h.update(data.data() + at, piece);
      at += piece;
    }
    EXPECT_EQ(h.digest(), ref) << n;
  }
}

TEST(PtxEntries, KernelsWaitingForPredecessor) {
  // As the NVPTX back end prints them: parameters are read (ld.param)
  // before the wait, device memory only after it.
  const char *ptx = R"(
.version 8.0
.target sm_90
.address_size 64
.func helper(.param .b64 p) { griddepcontrol.wait; ret; }
.visible .entry waits(
	.param .u64 waits_param_0
)
{
	ld.param.u64 	%rd1, [waits_param_0];
	griddepcontrol.wait;
	griddepcontrol.launch_dependents;
	ld.global.nc.f32 	%f1, [%rd1];
	ret;
}
.visible .entry plain(
	.param .u64 plain_param_0
)
{
	ld.param.u64 	%rd1, [plain_param_0];
	ld.global.f32 	%f1, [%rd1];
	ret;
}
.visible .entry late(
	.param .u64 late_param_0
)
{
	ld.param.u64 	%rd1, [late_param_0];
	ld.global.nc.v4.u32 	{%r1, %r2, %r3, %r4}, [%rd1];
	griddepcontrol.wait;
	st.global.u32 	[%rd1], %r1;
	ret;
}
.visible .entry storesFirst()
{
	st.shared.u32 	[%r1], %r2;
	griddepcontrol.wait;
	ret;
}
.visible .entry copiesFirst()
{
	cp.async.cg.shared.global [%r1], [%rd1], 16;
	griddepcontrol.wait;
	ret;
}
.visible .entry prefetchesFirst(
	.param .u64 prefetchesFirst_param_0
)
{
	ld.param.u64 	%rd1, [prefetchesFirst_param_0];
	cp.async.bulk.prefetch.L2.global 	[%rd1], 2048;
	griddepcontrol.wait;
	ld.global.nc.v4.u32 	{%r1, %r2, %r3, %r4}, [%rd1];
	ret;
}
.visible .entry last()
{
	griddepcontrol.wait;
	ret;
}
)";
  std::vector<std::string> names = qc::kernelsWaitingForPredecessor(ptx);
  EXPECT_EQ(names,
            (std::vector<std::string>{"waits", "prefetchesFirst", "last"}));
  EXPECT_TRUE(qc::kernelsWaitingForPredecessor("").empty());
  EXPECT_TRUE(qc::kernelsWaitingForPredecessor(".entry").empty());
  EXPECT_TRUE(qc::kernelsWaitingForPredecessor(".entry (").empty());
}

TEST(TensorBytes, OverflowAndLimits) {
  qcrt_tensor t = {};
  t.dtype = QCRT_F32;
  t.rank = 2;
  t.shape[0] = int64_t(1) << 62;
  t.shape[1] = 4; // 2^62 * 4 * 4 bytes wraps around to 0
  uint64_t bytes = 123;
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_ERR_INVALID_ARG);
  EXPECT_NE(std::string(qcrt_last_error()).find("too large"),
            std::string::npos);
  EXPECT_EQ(qcrt_tensor_numel(&t), -1);
  t.shape[0] = int64_t(1) << 20;
  t.shape[1] = int64_t(1) << 20; // 4 TiB: above QCRT_MAX_TENSOR_BYTES
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_ERR_INVALID_ARG);
  t.shape[1] = 0; // empty, whatever the other dimension
  t.shape[0] = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_OK);
  EXPECT_EQ(bytes, 0u);
  t.shape[0] = -1;
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_ERR_INVALID_ARG);
  EXPECT_EQ(qcrt_tensor_numel(&t), -1);
  t.shape[0] = 3;
  t.shape[1] = 5;
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_OK);
  EXPECT_EQ(bytes, 60u);
  t.rank = QCRT_MAX_RANK + 1;
  EXPECT_EQ(qcrt_tensor_bytes(&t, &bytes), QCRT_ERR_INVALID_ARG);
  EXPECT_EQ(qcrt_tensor_numel(&t), -1);
}

TEST(Npy, WrappingShapeIsRejected) {
  // 2^62 x 4 float32: the byte count wraps to 0 and used to pass the
  // "enough data" check with an empty payload.
  std::string path = writeNpy(
      "wrap.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
      "4), }",
      0);
  qcrt_tensor t;
  EXPECT_EQ(qcrt_npy_read(path.c_str(), &t), QCRT_ERR_FORMAT);
  EXPECT_NE(std::string(qcrt_last_error()).find("too large"), std::string::npos)
      << qcrt_last_error();
  EXPECT_EQ(t.data, nullptr);
  remove(path.c_str());
}

TEST(Npy, HostileHeaders) {
  const char *dicts[] = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': "
      "(99999999999999999999999, ), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, ), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), "
      "}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3",
      "{'descr': '<f4', 'fortran_order': False, }",
      "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
      "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
      "{'descr",
      "",
  };
  int i = 0;
  for (const char *d : dicts) {
    std::string path = writeNpy("hostile" + std::to_string(i++) + ".npy", d, 8);
    qcrt_tensor t;
    EXPECT_NE(qcrt_npy_read(path.c_str(), &t), QCRT_OK) << d;
    EXPECT_NE(std::string(qcrt_last_error()), "") << d;
    EXPECT_EQ(t.data, nullptr);
    remove(path.c_str());
  }
  // A good one still reads.
  std::string path =
      writeNpy("good.npy",
               "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
  qcrt_tensor t;
  ASSERT_EQ(qcrt_npy_read(path.c_str(), &t), QCRT_OK) << qcrt_last_error();
  EXPECT_EQ(t.rank, 1);
  EXPECT_EQ(t.shape[0], 2);
  qcrt_tensor_free(&t);
  remove(path.c_str());
}

TEST(Calibration, NonFiniteDataIsRefused) {
  qcrt_stats_reset();
  float good[4] = {1, 2, 3, 4};
  float bad[4] = {1, NAN, 3, INFINITY};
  qcrt_observe("layer0", good, 2, 2, 0, 0);
  qcrt_observe("layer0", bad, 2, 2, 0, 0);
  std::string path = tempPath("stats.json");
  EXPECT_EQ(qcrt_stats_write(path.c_str()), QCRT_ERR_RUNTIME);
  std::string why = qcrt_last_error();
  EXPECT_NE(why.find("2 non-finite values"), std::string::npos) << why;
  EXPECT_NE(why.find("row 0, channel 1"), std::string::npos) << why;
  EXPECT_NE(access(path.c_str(), F_OK), 0); // nothing written
  qcrt_stats_reset();
  qcrt_observe("layer0", good, 2, 2, 0, 0);
  EXPECT_EQ(qcrt_stats_write(path.c_str()), QCRT_OK) << qcrt_last_error();
  remove(path.c_str());
  qcrt_stats_reset();
}

} // namespace
