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
#include <utility>
#include <vector>

extern "C" {
// LAPACK (Fortran ABI, provided by OpenBLAS).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
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

} // namespace

bool qc::la::choleskyLower(MLIRContext *ctx, double *a, int64_t k) {
  singleThreadedBlas();
  for (int64_t j0 = 0; j0 < k; j0 += kTile) {
    int64_t jb = std::min(kTile, k - j0);
    // The diagonal block, already updated by the panels before it. Seen
    // column-major, a row-major lower triangle is an upper one.
    int n = toInt(jb), lda = toInt(k), info = 0;
    dpotrf_("U", &n, &a[j0 * k + j0], &lda, &info);
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
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans,
                  CblasNonUnit, toInt(ib), toInt(jb), 1.0, &a[j0 * k + j0],
                  toInt(k), &a[i0 * k + j0], toInt(k));
    });
    // Trailing lower triangle: A[I, J] -= A[I, panel] A[J, panel]^T for
    // tile pairs J <= I (diagonal tiles computed whole: they stay
    // symmetric).
    std::vector<std::pair<int64_t, int64_t>> tiles;
    for (int64_t ti = 0; ti < rowTiles; ++ti)
      for (int64_t tj = 0; tj <= ti; ++tj)
        tiles.emplace_back(ti, tj);
    parallelFor(ctx, 0, tiles.size(), [&](size_t t) {
      int64_t i0 = below + tiles[t].first * kTile;
      int64_t c0 = below + tiles[t].second * kTile;
      int64_t ib = std::min(kTile, k - i0), cb = std::min(kTile, k - c0);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, toInt(ib), toInt(cb),
                  toInt(jb), -1.0, &a[i0 * k + j0], toInt(k), &a[c0 * k + j0],
                  toInt(k), 1.0, &a[i0 * k + c0], toInt(k));
    });
  }
  for (int64_t i = 0; i < k; ++i)
    std::fill(&a[i * k + i + 1], &a[i * k + k], 0.0);
  return true;
}

void qc::la::invertLower(MLIRContext *ctx, const double *l, double *x,
                         int64_t k) {
  singleThreadedBlas();
  std::fill(x, x + k * k, 0.0);
  // Column block J of X: L[J0:, J0:] X[J0:, J] = I[J0:, J] (X is lower
  // triangular, so its rows above J0 are zero in these columns).
  int64_t blocks = (k + kTile - 1) / kTile;
  parallelFor(ctx, 0, blocks, [&](size_t b) {
    int64_t j0 = int64_t(b) * kTile, jb = std::min(kTile, k - j0);
    for (int64_t i = 0; i < jb; ++i)
      x[(j0 + i) * k + j0 + i] = 1.0;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans,
                CblasNonUnit, toInt(k - j0), toInt(jb), 1.0, &l[j0 * k + j0],
                toInt(k), &x[j0 * k + j0], toInt(k));
  });
}

void qc::la::gemmSubtract(MLIRContext *ctx, int64_t m, int64_t n,
                          int64_t nInner, const double *a, int64_t lda,
                          const double *b, int64_t ldb, double *c,
                          int64_t ldc) {
  if (m == 0 || n == 0 || nInner == 0)
    return;
  singleThreadedBlas();
  int64_t rowTiles = (m + kTile - 1) / kTile;
  parallelFor(ctx, 0, rowTiles, [&](size_t t) {
    int64_t i0 = int64_t(t) * kTile, ib = std::min(kTile, m - i0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, toInt(ib), toInt(n),
                toInt(nInner), -1.0, &a[i0 * lda], toInt(lda), b, toInt(ldb),
                1.0, &c[i0 * ldc], toInt(ldc));
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
