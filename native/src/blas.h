// The BLAS this platform builds against: Accelerate on macOS, a CBLAS (OpenBLAS) elsewhere.
#pragma once
#if defined(__APPLE__)
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
using blasint = int;
#else
#include <cblas.h>
#endif

namespace ws {
/** Name and threads of the BLAS in use, for `whetstone backends`. */
const char* blas_name();
int blas_threads();
void set_blas_threads(int n);
}  // namespace ws
