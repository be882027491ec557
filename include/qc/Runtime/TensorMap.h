//===- TensorMap.h - The TMA tensor map of a wgmma GEMM operand -*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// One recipe for the tensor maps the warp-specialized wgmma GEMMs read
// their operands through (MmaTileConfig::tma): qcrt encodes them at launch
// (qcrtEncodeTensorMap, called by the code qc-lower-gpu-launches emits) and
// the benchmark harness encodes its own with the same function. Header-only;
// needs cuda.h (CUDA 12.0 or later).
//
//===----------------------------------------------------------------------===//

#ifndef QC_RUNTIME_TENSORMAP_H
#define QC_RUNTIME_TENSORMAP_H

#include <cstdint>
#include <cuda.h>

namespace qcrt {

/// The tensor map of a row-major [rows, cols] operand of `elemBytes`-byte
/// elements (1: INT8 / FP8 codes, 2: f16) at `base`, read in boxes of
/// `boxRows` rows x 128 bytes into 128-byte-swizzled shared memory (16-byte
/// chunk c of box row r at c ^ (r % 8): the layout of a K-major SW128 wgmma
/// descriptor). Elements past the tensor's edges read as zeros. Needs
/// cols * elemBytes a multiple of 16, `base` 16-byte aligned, boxRows in
/// [1, 256]. `encode` is cuTensorMapEncodeTiled (qcrt resolves it at run
/// time; the harness links it).
template <typename Encode>
inline CUresult encodeOperandTensorMap(Encode encode, CUtensorMap *map,
                                       const void *base, uint64_t rows,
                                       uint64_t cols, unsigned elemBytes,
                                       unsigned boxRows) {
  const cuuint64_t dims[2] = {cols, rows};
  const cuuint64_t strides[1] = {cols * elemBytes};
  const cuuint32_t box[2] = {128 / elemBytes, boxRows};
  const cuuint32_t elementStrides[2] = {1, 1};
  return encode(map,
                elemBytes == 2 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                               : CU_TENSOR_MAP_DATA_TYPE_UINT8,
                2, const_cast<void *>(base), dims, strides, box, elementStrides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
}

} // namespace qcrt

#endif // QC_RUNTIME_TENSORMAP_H
