// The CSV reader, number and timestamp parsing and `DataError` live in the DelimitedText target (shared
// with CGMImport, which must not link MPI or HDF5); CGMData re-exports them so `import CGMData` still
// brings them in.

@_exported import DelimitedText
