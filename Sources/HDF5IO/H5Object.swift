// H5Object: base of files, groups and datasets. Holds one HDF5 identifier (closed in deinit unless the
// file was closed first: files are opened with H5F_CLOSE_STRONG, so closing the file closes every object
// of it), the shared file state, the object's absolute path, and the error helpers.

import CHDF5
import Foundation

/// State shared by a file and every object opened from it.
final class H5FileState {
    /// HDF5 file identifier.
    let id: hid_t
    /// Final path on disk (what the user asked for).
    let path: String
    /// Path actually open: `path`, or the temporary sibling while a created file is uncommitted.
    let diskPath: String
    /// True for files from `H5File.create` (written to `diskPath`, renamed to `path` on commit).
    let isTemporary: Bool
    let readOnly: Bool
    var isOpen = true

    init(id: hid_t, path: String, diskPath: String, isTemporary: Bool, readOnly: Bool) {
        self.id = id
        self.path = path
        self.diskPath = diskPath
        self.isTemporary = isTemporary
        self.readOnly = readOnly
    }
}

/// An open HDF5 object (file, group or dataset) that can carry attributes.
public class H5Object {
    let id: hid_t
    let state: H5FileState
    let closesOnDeinit: Bool

    /// Absolute path of the object inside the file ("/" for the file / root group).
    public let path: String

    /// Path of the file on disk (the final path, also while a created file is uncommitted).
    public var filePath: String { state.path }

    /// The file object this object was opened from (nil for the file itself). Retained so that
    /// `try H5File.open(path: p).openDataset("x")` keeps the file open as long as the dataset lives.
    let owner: H5File?

    init(id: hid_t, state: H5FileState, path: String, owner: H5File?, closesOnDeinit: Bool = true) {
        self.id = id
        self.state = state
        self.path = path
        self.owner = owner
        self.closesOnDeinit = closesOnDeinit
    }

    /// The H5File to retain in objects opened from this one.
    var fileForChildren: H5File? { (self as? H5File) ?? owner }

    deinit {
        if closesOnDeinit && state.isOpen && H5Iis_valid(id) > 0 { H5Oclose(id) }
    }

    // MARK: Helpers

    /// Absolute path of `name` relative to this object.
    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        if name.isEmpty || name == "." { return path }
        return path == "/" ? "/" + name : path + "/" + name
    }

    /// Error built from the current HDF5 error stack (call immediately after the failing HDF5 call).
    func stackError(_ operation: String, _ object: String? = nil) -> HDF5Error {
        HDF5Error(file: state.path, object: object ?? path, operation: operation,
                  message: H5Library.takeErrorStack())
    }

    /// Error with the wrapper's own message.
    func error(_ operation: String, _ object: String? = nil, _ message: String) -> HDF5Error {
        HDF5Error(file: state.path, object: object ?? path, operation: operation, message: message)
    }

    /// Throws the HDF5 error stack when `rc` is negative (HDF5's failure convention); returns `rc`.
    @discardableResult
    func check<R: BinaryInteger>(_ rc: R, _ operation: String, _ object: String? = nil) throws -> R {
        if rc < 0 { throw stackError(operation, object) }
        return rc
    }

    /// Throws unless the file is still open.
    func ensureOpen(_ operation: String, _ object: String? = nil) throws {
        if !state.isOpen { throw error(operation, object, "the file was already closed") }
    }

    /// Throws when the file is read-only.
    func ensureWritable(_ operation: String, _ object: String? = nil) throws {
        try ensureOpen(operation, object)
        if state.readOnly { throw error(operation, object, "the file is open read-only") }
    }
}

// MARK: - Attributes

/// Value of an attribute. Scalars are stored with a scalar dataspace, arrays with a 1-D dataspace.
public enum H5AttributeValue: Equatable, Sendable {
    /// Variable-length UTF-8 string.
    case string(String)
    /// Fixed-length UTF-8 string (null-padded to its byte length).
    case fixedString(String)
    /// 64-bit signed integer (any stored integer scalar reads back as this).
    case int64(Int64)
    /// 64-bit float (any stored float scalar reads back as this).
    case double(Double)
    /// 1-D array of 32-bit floats.
    case floats([Float])
    /// 1-D array of 64-bit floats.
    case doubles([Double])
    /// 1-D array of 64-bit signed integers (any stored integer array reads back as this).
    case int64s([Int64])

    /// The string of `.string` or `.fixedString`, else nil.
    public var stringValue: String? {
        switch self {
        case .string(let s), .fixedString(let s): return s
        default: return nil
        }
    }
}

extension H5Object {
    /// Creates or replaces attribute `name` on this object.
    public func setAttribute(_ name: String, _ value: H5AttributeValue) throws {
        let op = "write attribute '\(name)' of"
        try ensureWritable(op)
        if try hasAttribute(name) { try check(H5Adelete(id, name), op) }
        let scalarSpace = { [self] () throws -> hid_t in try check(H5Screate(H5S_SCALAR), op) }
        let vectorSpace = { [self] (n: Int) throws -> hid_t in
            var dims = [hsize_t(n)]
            return try check(H5Screate_simple(1, &dims, nil), op)
        }
        func create(_ type: hid_t, _ space: hid_t, _ write: (hid_t) -> herr_t) throws {
            defer { H5Sclose(space) }
            let attr = try check(H5Acreate2(id, name, type, space, cgm_h5p_default(), cgm_h5p_default()), op)
            defer { H5Aclose(attr) }
            try check(write(attr), op)
        }
        switch value {
        case .string(let s):
            let type = try check(H5Tcopy(cgm_h5t_c_s1()), op)
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, cgm_h5t_variable()), op)
            try check(H5Tset_cset(type, H5T_CSET_UTF8), op)
            try create(type, try scalarSpace()) { attr in
                s.withCString { cstr in
                    var ptr: UnsafePointer<CChar>? = cstr
                    return H5Awrite(attr, type, &ptr)
                }
            }
        case .fixedString(let s):
            var bytes = Array(s.utf8)
            if bytes.isEmpty { bytes = [0] }
            let type = try check(H5Tcopy(cgm_h5t_c_s1()), op)
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, bytes.count), op)
            try check(H5Tset_strpad(type, H5T_STR_NULLPAD), op)
            try check(H5Tset_cset(type, H5T_CSET_UTF8), op)
            try create(type, try scalarSpace()) { attr in H5Awrite(attr, type, bytes) }
        case .int64(let v):
            var x = v
            try create(cgm_h5t_native_int64(), try scalarSpace()) { H5Awrite($0, cgm_h5t_native_int64(), &x) }
        case .double(let v):
            var x = v
            try create(cgm_h5t_native_double(), try scalarSpace()) { H5Awrite($0, cgm_h5t_native_double(), &x) }
        case .floats(let a):
            try create(cgm_h5t_native_float(), try vectorSpace(a.count)) { attr in
                a.isEmpty ? 0 : a.withUnsafeBufferPointer { H5Awrite(attr, cgm_h5t_native_float(), $0.baseAddress) }
            }
        case .doubles(let a):
            try create(cgm_h5t_native_double(), try vectorSpace(a.count)) { attr in
                a.isEmpty ? 0 : a.withUnsafeBufferPointer { H5Awrite(attr, cgm_h5t_native_double(), $0.baseAddress) }
            }
        case .int64s(let a):
            try create(cgm_h5t_native_int64(), try vectorSpace(a.count)) { attr in
                a.isEmpty ? 0 : a.withUnsafeBufferPointer { H5Awrite(attr, cgm_h5t_native_int64(), $0.baseAddress) }
            }
        }
    }

    /// True when this object has an attribute called `name`.
    public func hasAttribute(_ name: String) throws -> Bool {
        try ensureOpen("look up attribute '\(name)' of")
        return try check(H5Aexists(id, name), "look up attribute '\(name)' of") > 0
    }

    /// Deletes attribute `name` (throws if absent).
    public func deleteAttribute(_ name: String) throws {
        let op = "delete attribute '\(name)' of"
        try ensureWritable(op)
        guard try hasAttribute(name) else { throw error(op, nil, "no such attribute") }
        try check(H5Adelete(id, name), op)
    }

    /// Names of all attributes, in name order.
    public func attributeNames() throws -> [String] {
        let op = "list attributes of"
        try ensureOpen(op)
        final class Box { var names: [String] = [] }
        let box = Box()
        var idx: hsize_t = 0
        let cb: H5A_operator2_t = { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Box>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }
        try check(H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, Unmanaged.passUnretained(box).toOpaque()), op)
        return box.names
    }

    /// Reads attribute `name`. Integers read as Int64, float scalars as Double; float arrays keep their width.
    public func attribute(_ name: String) throws -> H5AttributeValue {
        let op = "read attribute '\(name)' of"
        try ensureOpen(op)
        guard try hasAttribute(name) else { throw error(op, nil, "no such attribute") }
        let attr = try check(H5Aopen(id, name, cgm_h5p_default()), op)
        defer { H5Aclose(attr) }
        let type = try check(H5Aget_type(attr), op)
        defer { H5Tclose(type) }
        let space = try check(H5Aget_space(attr), op)
        defer { H5Sclose(space) }
        let isScalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
        let n = Int(try check(H5Sget_simple_extent_npoints(space), op))
        let cls = H5Tget_class(type)

        switch cls {
        case H5T_STRING:
            guard isScalar || n == 1 else { throw error(op, nil, "string arrays are not supported (\(n) strings)") }
            if try check(H5Tis_variable_str(type), op) > 0 {
                let mem = try check(H5Tcopy(cgm_h5t_c_s1()), op)
                defer { H5Tclose(mem) }
                try check(H5Tset_size(mem, cgm_h5t_variable()), op)
                try check(H5Tset_cset(mem, H5Tget_cset(type)), op)
                var ptr: UnsafeMutablePointer<CChar>? = nil
                try check(H5Aread(attr, mem, &ptr), op)
                defer { if let ptr { H5free_memory(ptr) } }
                return .string(ptr.map { String(cString: $0) } ?? "")
            } else {
                let size = H5Tget_size(type)
                guard size > 0 else { throw stackError(op) }
                let mem = try check(H5Tcopy(type), op)
                defer { H5Tclose(mem) }
                var bytes = [UInt8](repeating: 0, count: size)
                try check(H5Aread(attr, mem, &bytes), op)
                var end = bytes.firstIndex(of: 0) ?? bytes.count
                if H5Tget_strpad(type) == H5T_STR_SPACEPAD {
                    while end > 0 && bytes[end - 1] == 0x20 { end -= 1 }
                }
                return .fixedString(String(decoding: bytes[..<end], as: UTF8.self))
            }
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: n)
            if n > 0 { try check(H5Aread(attr, cgm_h5t_native_int64(), &values), op) }
            return isScalar ? .int64(values.first ?? 0) : .int64s(values)
        case H5T_FLOAT:
            if isScalar || H5Tget_size(type) > 4 {
                var values = [Double](repeating: 0, count: n)
                if n > 0 { try check(H5Aread(attr, cgm_h5t_native_double(), &values), op) }
                return isScalar ? .double(values.first ?? 0) : .doubles(values)
            }
            var values = [Float](repeating: 0, count: n)
            if n > 0 { try check(H5Aread(attr, cgm_h5t_native_float(), &values), op) }
            return .floats(values)
        default:
            throw error(op, nil, "unsupported attribute type class \(cls.rawValue)")
        }
    }

    /// Reads a string attribute (fixed or variable length).
    public func stringAttribute(_ name: String) throws -> String {
        let v = try attribute(name)
        guard let s = v.stringValue else { throw kindMismatch(name, "a string", v) }
        return s
    }

    /// Reads an integer scalar attribute.
    public func int64Attribute(_ name: String) throws -> Int64 {
        let v = try attribute(name)
        guard case .int64(let x) = v else { throw kindMismatch(name, "an integer scalar", v) }
        return x
    }

    /// Reads a float scalar attribute.
    public func doubleAttribute(_ name: String) throws -> Double {
        let v = try attribute(name)
        guard case .double(let x) = v else { throw kindMismatch(name, "a float scalar", v) }
        return x
    }

    /// Reads a float array attribute (Float32 or Float64 storage) as [Float].
    public func floatArrayAttribute(_ name: String) throws -> [Float] {
        let v = try attribute(name)
        switch v {
        case .floats(let a): return a
        case .doubles(let a): return a.map { Float($0) }
        default: throw kindMismatch(name, "a float array", v)
        }
    }

    /// Reads an integer array attribute.
    public func int64ArrayAttribute(_ name: String) throws -> [Int64] {
        let v = try attribute(name)
        guard case .int64s(let a) = v else { throw kindMismatch(name, "an integer array", v) }
        return a
    }

    private func kindMismatch(_ name: String, _ expected: String, _ got: H5AttributeValue) -> HDF5Error {
        error("read attribute '\(name)' of", nil, "expected \(expected), found \(got)")
    }
}
