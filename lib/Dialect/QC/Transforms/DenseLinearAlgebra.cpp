//===- DenseLinearAlgebra.cpp - Blocked float64 kernels for GPTQ ----------===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//

#include "DenseLinearAlgebra.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Threading.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <vector>

extern "C" {
// LAPACK (Fortran ABI, provided by OpenBLAS).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
             int *info);
void spotrf_(const char *uplo, const int *n, float *a, const int *lda,
             int *info);
}

using namespace mlir;

namespace {

/// OpenBLAS runs each call on the calling thread only: the tiles are the
/// parallelism, and a fixed tiling keeps results independent of the thread
/// count (OpenBLAS's own threading splits work by its thread count).
void singleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

int toInt(int64_t v) { return static_cast<int>(v); }

// The BLAS / LAPACK routine of each element type.
void potrf(int n, double *a, int lda, int *info) {
  dpotrf_("U", &n, a, &lda, info);
}
void potrf(int n, float *a, int lda, int *info) {
  spotrf_("U", &n, a, &lda, info);
}
void trsm(CBLAS_SIDE side, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans, int m, int n,
          const double *a, int lda, double *b, int ldb) {
  cblas_dtrsm(CblasRowMajor, side, uplo, trans, CblasNonUnit, m, n, 1.0, a, lda,
              b, ldb);
}
void trsm(CBLAS_SIDE side, CBLAS_UPLO uplo, CBLAS_TRANSPOSE trans, int m, int n,
          const float *a, int lda, float *b, int ldb) {
  cblas_strsm(CblasRowMajor, side, uplo, trans, CblasNonUnit, m, n, 1.0f, a,
              lda, b, ldb);
}
/// C -= A op(B).
void gemmSub(CBLAS_TRANSPOSE transB, int m, int n, int k, const double *a,
             int lda, const double *b, int ldb, double *c, int ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, transB, m, n, k, -1.0, a, lda, b,
              ldb, 1.0, c, ldc);
}
void gemmSub(CBLAS_TRANSPOSE transB, int m, int n, int k, const float *a,
             int lda, const float *b, int ldb, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, m, n, k, -1.0f, a, lda, b,
              ldb, 1.0f, c, ldc);
}

} // namespace

template <typename T>
bool qc::la::choleskyLower(MLIRContext *ctx, T *a, int64_t k) {
  singleThreadedBlas();
  for (int64_t j0 = 0; j0 < k; j0 += kTile) {
    int64_t jb = std::min(kTile, k - j0);
    // The diagonal block, already updated by the panels before it. Seen
    // column-major, a row-major lower triangle is an upper one.
    int info = 0;
    potrf(toInt(jb), &a[j0 * k + j0], toInt(k), &info);
    if (info != 0)
      return false;
    int64_t below = j0 + jb;
    if (below >= k)
      break;
    // Panel: A[i, j0:j0+jb] <- A[i, j0:j0+jb] L_jj^-T, by row tiles.
    int64_t rowTiles = (k - below + kTile - 1) / kTile;
    parallelFor(ctx, 0, rowTiles, [&](size_t t) {
      int64_t i0 = below + int64_t(t) * kTile;
      int64_t ib = std::min(kTile, k - i0);
      trsm(CblasRight, CblasLower, CblasTrans, toInt(ib), toInt(jb),
           &a[j0 * k + j0], toInt(k), &a[i0 * k + j0], toInt(k));
    });
    // Trailing lower triangle, one row tile I at a time:
    // A[I, below:I_end] -= A[I, panel] A[below:I_end, panel]^T (the part of
    // the diagonal tile above the diagonal comes along, symmetric).
    parallelFor(ctx, 0, rowTiles, [&](size_t t) {
      int64_t i0 = below + int64_t(t) * kTile;
      int64_t ib = std::min(kTile, k - i0), cols = i0 + ib - below;
      gemmSub(CblasTrans, toInt(ib), toInt(cols), toInt(jb), &a[i0 * k + j0],
              toInt(k), &a[below * k + j0], toInt(k), &a[i0 * k + below],
              toInt(k));
    });
  }
  for (int64_t i = 0; i < k; ++i)
    std::fill(&a[i * k + i + 1], &a[i * k + k], T(0));
  return true;
}

template <typename T>
void qc::la::invertLower(MLIRContext *ctx, const T *l, T *x, int64_t k) {
  singleThreadedBlas();
  std::fill(x, x + k * k, T(0));
  // Column block J of X: L[J0:, J0:] X[J0:, J] = I[J0:, J] (X is lower
  // triangular, so its rows above J0 are zero in these columns).
  int64_t blocks = (k + kTile - 1) / kTile;
  parallelFor(ctx, 0, blocks, [&](size_t b) {
    int64_t j0 = int64_t(b) * kTile, jb = std::min(kTile, k - j0);
    for (int64_t i = 0; i < jb; ++i)
      x[(j0 + i) * k + j0 + i] = T(1);
    trsm(CblasLeft, CblasLower, CblasNoTrans, toInt(k - j0), toInt(jb),
         &l[j0 * k + j0], toInt(k), &x[j0 * k + j0], toInt(k));
  });
}

template <typename T>
void qc::la::gemmSubtract(MLIRContext *ctx, int64_t m, int64_t n,
                          int64_t nInner, const T *a, int64_t lda, const T *b,
                          int64_t ldb, T *c, int64_t ldc) {
  if (m == 0 || n == 0 || nInner == 0)
    return;
  singleThreadedBlas();
  int64_t rowTiles = (m + kTile - 1) / kTile;
  parallelFor(ctx, 0, rowTiles, [&](size_t t) {
    int64_t i0 = int64_t(t) * kTile, ib = std::min(kTile, m - i0);
    gemmSub(CblasNoTrans, toInt(ib), toInt(n), toInt(nInner), &a[i0 * lda],
            toInt(lda), b, toInt(ldb), &c[i0 * ldc], toInt(ldc));
  });
}

void qc::la::rowQuadraticForms(int64_t rows, int64_t k, const double *x,
                               const double *h, double *out) {
  singleThreadedBlas();
  static thread_local std::vector<double> xh;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    int64_t rb = std::min(kTile, rows - r0);
    xh.resize(rb * k);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, toInt(rb), toInt(k),
                toInt(k), 1.0, &x[r0 * k], toInt(k), h, toInt(k), 0.0,
                xh.data(), toInt(k));
    for (int64_t i = 0; i < rb; ++i) {
      const double *xi = &x[(r0 + i) * k], *gi = &xh[i * k];
      double s = 0.0;
      for (int64_t j = 0; j < k; ++j)
        s += xi[j] * gi[j];
      out[r0 + i] = s;
    }
  }
}

void qc::la::rowQuadraticForms(MLIRContext *ctx, int64_t rows, int64_t k,
                               const double *x, const double *h, double *out) {
  int64_t tiles = (rows + kTile - 1) / kTile;
  parallelFor(ctx, 0, tiles, [&](size_t t) {
    int64_t r0 = int64_t(t) * kTile;
    rowQuadraticForms(std::min(kTile, rows - r0), k, &x[r0 * k], h, &out[r0]);
  });
}

namespace mlir::qc::la {
template bool choleskyLower(MLIRContext *, double *, int64_t);
template bool choleskyLower(MLIRContext *, float *, int64_t);
template void invertLower(MLIRContext *, const double *, double *, int64_t);
template void invertLower(MLIRContext *, const float *, float *, int64_t);
template void gemmSubtract(MLIRContext *, int64_t, int64_t, int64_t,
                           const double *, int64_t, const double *, int64_t,
                           double *, int64_t);
template void gemmSubtract(MLIRContext *, int64_t, int64_t, int64_t,
                           const float *, int64_t, const float *, int64_t,
                           float *, int64_t);
} // namespace mlir::qc::la
