// H5Dataset: an n-dimensional array of Float, Double, Int32, Int64 or UInt8 in a file, optionally chunked
// and gzip-compressed. Reads go into Swift arrays (with shape) or straight into caller memory (tensors).

import CHDF5
import Foundation

/// Element types HDF5IO reads and writes.
public enum H5ElementType: String, Sendable, Equatable, CaseIterable {
    case float32, float64, int32, int64, uint8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8: return 1
        }
    }

    /// HDF5 native (memory) type identifier; predefined, never closed.
    var nativeType: hid_t {
        switch self {
        case .float32: return cgm_h5t_native_float()
        case .float64: return cgm_h5t_native_double()
        case .int32: return cgm_h5t_native_int32()
        case .int64: return cgm_h5t_native_int64()
        case .uint8: return cgm_h5t_native_uint8()
        }
    }

    /// Classifies a stored datatype; nil for anything else (strings, compounds, int16, ...).
    static func classify(_ type: hid_t) -> H5ElementType? {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            return size == 4 ? .float32 : size == 8 ? .float64 : nil
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (4, true): return .int32
            case (8, true): return .int64
            case (1, false): return .uint8
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Swift scalar types storable in datasets: Float, Double, Int32, Int64, UInt8.
public protocol H5Scalar {
    /// The HDF5IO element type of `Self`.
    static var h5ElementType: H5ElementType { get }
}

extension Float: H5Scalar { public static var h5ElementType: H5ElementType { .float32 } }
extension Double: H5Scalar { public static var h5ElementType: H5ElementType { .float64 } }
extension Int32: H5Scalar { public static var h5ElementType: H5ElementType { .int32 } }
extension Int64: H5Scalar { public static var h5ElementType: H5ElementType { .int64 } }
extension UInt8: H5Scalar { public static var h5ElementType: H5ElementType { .uint8 } }

/// Values read from a dataset, row-major, with their shape ([] for a scalar dataset).
public struct H5Array<T: H5Scalar> {
    /// Dataset shape.
    public var shape: [Int]
    /// Row-major values; `values.count == shape.reduce(1, *)`.
    public var values: [T]

    /// Creates an array value; the count must match the shape.
    public init(shape: [Int], values: [T]) {
        precondition(shape.reduce(1, *) == values.count,
                     "H5Array: shape \(shape) holds \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }
}

extension H5Array: Equatable where T: Equatable {}

/// A filter in a dataset's creation pipeline.
public struct H5Filter: Equatable, Sendable {
    /// HDF5 filter id (1 = deflate, 2 = shuffle, ...).
    public let id: Int32
    /// Filter name as stored.
    public let name: String
    /// Client data values (for deflate: [level]).
    public let parameters: [UInt32]
}

/// Storage layout of a dataset, read from its creation property list.
public struct H5StorageInfo: Equatable, Sendable {
    /// Chunk shape, or nil for contiguous/compact storage.
    public let chunks: [Int]?
    /// Filter pipeline, in application order.
    public let filters: [H5Filter]

    /// Gzip level when the deflate filter is present.
    public var gzipLevel: Int? {
        filters.first { $0.id == H5Z_FILTER_DEFLATE }.map { Int($0.parameters.first ?? 0) }
    }
    /// True when the byte-shuffle filter is present.
    public var isShuffled: Bool { filters.contains { $0.id == H5Z_FILTER_SHUFFLE } }
}

/// An open dataset.
public final class H5Dataset: H5Object {
    /// Dataset shape ([] for a scalar dataset).
    public let shape: [Int]
    /// Stored element type, or nil if it is none of the supported ones.
    public let elementType: H5ElementType?

    /// Number of elements (Int.max when a corrupt file's shape overflows it).
    public var count: Int {
        shape.reduce(1) { n, d in
            let (product, overflow) = n.multipliedReportingOverflow(by: d)
            return overflow ? Int.max : product
        }
    }

    init(id: hid_t, state: H5FileState, path: String, owner: H5File?) throws {
        var shape: [Int] = []
        var element: H5ElementType?
        var failure: String?
        let space = H5Dget_space(id)
        if space >= 0 {
            let rank = Int(H5Sget_simple_extent_ndims(space))
            if rank > 0 {
                var dims = [hsize_t](repeating: 0, count: rank)
                H5Sget_simple_extent_dims(space, &dims, nil)
                if let d = dims.first(where: { $0 > hsize_t(Int.max) }) {
                    failure = "dimension \(d) is out of range"
                } else {
                    shape = dims.map { Int($0) }
                }
            } else if rank < 0 {
                failure = H5Library.takeErrorStack()
            }
            H5Sclose(space)
        } else {
            failure = H5Library.takeErrorStack()
        }
        let type = H5Dget_type(id)
        if type >= 0 {
            element = H5ElementType.classify(type)
            H5Tclose(type)
        } else if failure == nil {
            failure = H5Library.takeErrorStack()
        }
        self.shape = shape
        self.elementType = element
        super.init(id: id, state: state, path: path, owner: owner)
        if let failure { throw HDF5Error(file: state.path, object: path, operation: "open dataset", message: failure) }
    }

    private func checkType<T: H5Scalar>(_ t: T.Type, _ op: String, allowConversion: Bool) throws {
        guard let stored = elementType else {
            if allowConversion { return }
            throw error(op, nil, "stored element type is not one of \(H5ElementType.allCases.map(\.rawValue))")
        }
        if stored != T.h5ElementType && !allowConversion {
            throw error(op, nil, "dataset stores \(stored.rawValue), requested \(T.h5ElementType.rawValue)")
        }
    }

    /// Writes all elements from `buffer` (count must equal `count`, type must equal `elementType`).
    public func write<T: H5Scalar>(_ buffer: UnsafeBufferPointer<T>) throws {
        let op = "write dataset"
        try ensureWritable(op)
        try checkType(T.self, op, allowConversion: false)
        guard buffer.count == count else {
            throw error(op, nil, "dataset shape \(shape) holds \(count) values, got \(buffer.count)")
        }
        if count == 0 { return }
        try check(H5Dwrite(id, T.h5ElementType.nativeType, cgm_h5s_all(), cgm_h5s_all(), cgm_h5p_default(),
                           buffer.baseAddress), op)
    }

    /// Writes all elements from `values` (row-major).
    public func write<T: H5Scalar>(_ values: [T]) throws {
        try values.withUnsafeBufferPointer { try write($0) }
    }

    /// Reads all elements into `buffer` (count must equal `count`). With `allowConversion` HDF5 converts
    /// from the stored type (e.g. Int32 → Int64); otherwise the types must match exactly.
    public func read<T: H5Scalar>(into buffer: UnsafeMutableBufferPointer<T>, allowConversion: Bool = false) throws {
        let op = "read dataset"
        try ensureOpen(op)
        try checkType(T.self, op, allowConversion: allowConversion)
        guard buffer.count == count else {
            throw error(op, nil, "dataset shape \(shape) holds \(count) values, buffer has \(buffer.count)")
        }
        if count == 0 { return }
        try check(H5Dread(id, T.h5ElementType.nativeType, cgm_h5s_all(), cgm_h5s_all(), cgm_h5p_default(),
                          buffer.baseAddress), op)
    }

    /// Reads the whole dataset into an array with its shape.
    public func read<T: H5Scalar>(as type: T.Type = T.self, allowConversion: Bool = false) throws -> H5Array<T> {
        let n = count
        let values = try [T](unsafeUninitializedCapacity: n) { buf, initialized in
            try read(into: buf, allowConversion: allowConversion)
            initialized = n
        }
        return H5Array(shape: shape, values: values)
    }

    /// Chunk shape and filter pipeline from the dataset creation property list.
    public func storageInfo() throws -> H5StorageInfo {
        let op = "read storage layout of"
        try ensureOpen(op)
        let dcpl = try check(H5Dget_create_plist(id), op)
        defer { H5Pclose(dcpl) }
        var chunks: [Int]?
        if H5Pget_layout(dcpl) == H5D_CHUNKED {
            var dims = [hsize_t](repeating: 0, count: max(shape.count, 1))
            let rank = try check(H5Pget_chunk(dcpl, Int32(dims.count), &dims), op)
            chunks = dims.prefix(Int(rank)).map { Int($0) }
        }
        let nFilters = try check(H5Pget_nfilters(dcpl), op)
        var filters: [H5Filter] = []
        for i in 0..<UInt32(nFilters) {
            var flags: UInt32 = 0
            var nValues = 8
            var values = [UInt32](repeating: 0, count: nValues)
            var name = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            let fid = try check(H5Pget_filter2(dcpl, i, &flags, &nValues, &values, 256, &name, &config), op)
            filters.append(H5Filter(id: fid, name: String(cString: name),
                                    parameters: Array(values.prefix(min(nValues, values.count)))))
        }
        return H5StorageInfo(chunks: chunks, filters: filters)
    }
}
