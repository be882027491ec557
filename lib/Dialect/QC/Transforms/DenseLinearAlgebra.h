//===- DenseLinearAlgebra.h - Blocked float64 kernels for GPTQ --*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// The dense linear algebra of GPTQ at real model sizes (K up to 28672):
// Cholesky factorization, triangular inverse and the lazy-update GEMM, on
// row-major float64 or float32 matrices (T = double or float: d/s BLAS). Each
// routine splits its work into tiles of a fixed size (independent of the thread
// count), runs the tiles on the MLIRContext's threads, and computes every tile
// with one single-threaded OpenBLAS call: results are bit-identical for any
// number of threads, and the BLAS kernels (AVX2/AVX-512, chosen by OpenBLAS at
// run time) do the arithmetic.
//
//===----------------------------------------------------------------------===//

#ifndef QC_LIB_DIALECT_QC_TRANSFORMS_DENSELINEARALGEBRA_H
#define QC_LIB_DIALECT_QC_TRANSFORMS_DENSELINEARALGEBRA_H

#include <cstdint>

namespace mlir {
class MLIRContext;
namespace qc::la {

/// Tile edge of the blocked routines (rows and columns).
constexpr int64_t kTile = 128;

/// Factors the symmetric positive definite `a` (k x k, row-major, leading
/// dimension k) in place into L with A = L L^T: L in the lower triangle, the
/// strict upper triangle zeroed. Blocked right-looking: per panel of kTile
/// columns a diagonal dpotrf, a row-tiled dtrsm below it and a tiled dgemm
/// update of the trailing lower triangle. Returns false (contents then
/// unspecified) when a pivot is not positive.
template <typename T> bool choleskyLower(MLIRContext *ctx, T *a, int64_t k);

/// Writes X = L^-1 into `x` (k x k, row-major) for the lower-triangular,
/// nonsingular `l` (k x k, row-major; only its lower triangle is read).
/// Column blocks of X are independent triangular solves (dtrsm with the
/// trailing part of L), run in parallel; the strict upper triangle of X is
/// zero.
template <typename T>
void invertLower(MLIRContext *ctx, const T *l, T *x, int64_t k);

/// C -= A B for row-major A (m x n_inner, lda), B (n_inner x n, ldb) and C
/// (m x n, ldc); row tiles of C in parallel.
template <typename T>
void gemmSubtract(MLIRContext *ctx, int64_t m, int64_t n, int64_t nInner,
                  const T *a, int64_t lda, const T *b, int64_t ldb, T *c,
                  int64_t ldc);

/// out[i] = x_i^T H x_i for the `rows` rows x_i of row-major `x` (rows x k)
/// and the symmetric `h` (k x k), on the calling thread: chunks of kTile
/// rows, each one dgemm (X_chunk H) and per-row dot products. Used inside
/// work that is already parallel (a row block of a weight).
void rowQuadraticForms(int64_t rows, int64_t k, const double *x,
                       const double *h, double *out);

/// rowQuadraticForms over all `rows`, the chunks on the context's threads.
void rowQuadraticForms(MLIRContext *ctx, int64_t rows, int64_t k,
                       const double *x, const double *h, double *out);

} // namespace qc::la
} // namespace mlir

#endif // QC_LIB_DIALECT_QC_TRANSFORMS_DENSELINEARALGEBRA_H
