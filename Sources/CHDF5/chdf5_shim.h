// HDF5's predefined types and property-list defaults (H5T_NATIVE_FLOAT, H5P_DEFAULT, ...) are macros
// that call H5open() and read a global; Swift cannot import them. These inline functions can be.
#ifndef CGM_CHDF5_SHIM_H
#define CGM_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t cgm_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t cgm_h5s_all(void) { return H5S_ALL; }
static inline hid_t cgm_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t cgm_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t cgm_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t cgm_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t cgm_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t cgm_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t cgm_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t cgm_h5t_c_s1(void) { return H5T_C_S1; }
static inline unsigned cgm_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned cgm_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned cgm_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned cgm_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline size_t cgm_h5t_variable(void) { return H5T_VARIABLE; }
static inline H5E_auto2_t cgm_h5e_no_auto(void) { return NULL; }
/// Silences HDF5's default error-stack printing; the Swift wrapper reports errors itself.
static inline void cgm_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline hid_t cgm_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t cgm_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t cgm_h5p_attribute_create(void) { return H5P_ATTRIBUTE_CREATE; }
static inline unsigned cgm_h5f_obj_all(void) { return H5F_OBJ_ALL; }
/// Type of the object at `name` relative to `loc` (an H5O_type_t value), or -1 on error. Hides the
/// H5Oget_info_by_name signature that changed between HDF5 1.10 and 1.12.
static inline int cgm_h5o_type_by_name(hid_t loc, const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#elif H5_VERSION_GE(1, 10, 3)
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#else
    H5O_info_t info;
    if (H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) < 0) return -1;
#endif
    return (int)info.type;
}

#endif
