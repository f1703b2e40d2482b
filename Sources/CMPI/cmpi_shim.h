// Open MPI exposes its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) as macros that cast the
// address of a global; Swift cannot import those. These inline functions hand them to Swift.
#ifndef CGM_CMPI_SHIM_H
#define CGM_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm cgm_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cgm_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Comm cgm_mpi_comm_type_shared_split(MPI_Comm comm, int key, int *ok) {
    MPI_Comm out = MPI_COMM_NULL;
    *ok = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, key, MPI_INFO_NULL, &out) == MPI_SUCCESS;
    return out;
}
static inline MPI_Datatype cgm_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cgm_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cgm_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cgm_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Op cgm_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cgm_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op cgm_mpi_min(void) { return MPI_MIN; }
static inline MPI_Errhandler cgm_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request cgm_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *cgm_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *cgm_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int cgm_mpi_success(void) { return MPI_SUCCESS; }
static inline int cgm_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cgm_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int cgm_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Datatype cgm_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cgm_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Info cgm_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int cgm_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int cgm_mpi_undefined(void) { return MPI_UNDEFINED; }
static inline int cgm_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }

#endif
