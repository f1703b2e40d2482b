// OpenBLAS CBLAS interface plus its thread-count controls (not part of the CBLAS standard).
#ifndef CGM_COPENBLAS_SHIM_H
#define CGM_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
