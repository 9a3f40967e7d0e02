// OpenBLAS (cblas + openblas_* control functions) and LAPACKE, as installed by
// `apt-get install libopenblas-dev liblapacke-dev` (cblas.h lives in /usr/include/x86_64-linux-gnu).
#include <cblas.h>
#include <lapacke.h>
