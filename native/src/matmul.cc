// GEMM through the platform's BLAS (OpenBLAS on Linux, Accelerate on macOS). Transposed operands
// are passed to BLAS as such, never copied.
#include "blas.h"
#include "kernels.h"

namespace ws {

void batch_matmul(const float* a, const float* b, float* c, int64_t batch_a, int64_t batch_b,
                  int64_t m, int64_t n, int64_t k, bool transpose_a, bool transpose_b) {
  const int64_t batch = batch_a > batch_b ? batch_a : batch_b;
  const CBLAS_TRANSPOSE ta = transpose_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transpose_b ? CblasTrans : CblasNoTrans;
  const int64_t lda = transpose_a ? m : k;
  const int64_t ldb = transpose_b ? k : n;
  // One shared right operand and a plain left one: the batches stack into one taller GEMM.
  if (batch_b == 1 && !transpose_a && batch > 1) {
    cblas_sgemm(CblasRowMajor, ta, tb, blasint(batch * m), blasint(n), blasint(k), 1.0f, a,
                blasint(lda), b, blasint(ldb), 0.0f, c, blasint(n));
    return;
  }
  for (int64_t bi = 0; bi < batch; ++bi) {
    cblas_sgemm(CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), 1.0f,
                a + (bi % batch_a) * m * k, blasint(lda), b + (bi % batch_b) * k * n, blasint(ldb),
                0.0f, c + bi * m * n, blasint(n));
  }
}

}  // namespace ws
