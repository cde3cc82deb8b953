#include "blas.h"

namespace ws {

#if defined(__APPLE__)
const char* blas_name() { return "Accelerate"; }
int blas_threads() { return 0; }  // Accelerate manages its own threads
void set_blas_threads(int) {}
#elif defined(OPENBLAS_VERSION)
const char* blas_name() { return OPENBLAS_VERSION; }
int blas_threads() { return openblas_get_num_threads(); }
void set_blas_threads(int n) { openblas_set_num_threads(n); }
#else
const char* blas_name() { return "CBLAS"; }
int blas_threads() { return 0; }
void set_blas_threads(int) {}
#endif

}  // namespace ws
