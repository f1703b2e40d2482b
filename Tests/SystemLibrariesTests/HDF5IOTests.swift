// HDF5IO: round trips of every element type and attribute kind, compression settings verified with the
// raw C API, atomic create/commit/discard, error messages, identifier leaks, and h5dump compatibility.

import CHDF5
import Foundation
@testable import HDF5IO
import XCTest

final class HDF5IOTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("hdf5io-tests-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func directoryListing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    // MARK: Datasets

    func testRoundTripEveryElementTypeAndRank() throws {
        let p = path("types.h5")
        let floats: [Float] = [0, -0.0, 1.5, -3.25, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                               .infinity, -.infinity, 1e-30, 123456.79, 7, 8]
        let doubles: [Double] = [.pi, -.greatestFiniteMagnitude, 1e-300, 0, 2, 3]
        let int32s: [Int32] = [.min, .max, 0, -1, 42, 7]
        let int64s: [Int64] = [.min, .max, 0, -1, 1 << 40, 9]
        let bytes: [UInt8] = [0, 255, 1, 128]
        try H5File.create(path: p) { f in
            try f.createDataset("f32/r1", values: floats)
            try f.createDataset("f32/r2", values: floats, shape: [3, 4])
            try f.createDataset("f32/r3", values: floats, shape: [2, 3, 2])
            try f.createDataset("f32/r4", values: floats, shape: [1, 2, 1, 6])
            try f.createDataset("f32/scalar", values: [Float(2.5)], shape: [])
            try f.createDataset("f32/empty", values: [Float](), shape: [0, 3])
            try f.createDataset("f64", values: doubles, shape: [2, 3])
            try f.createDataset("i32", values: int32s, shape: [3, 2])
            try f.createDataset("i64", values: int64s, shape: [6, 1])
            try f.createDataset("u8", values: bytes, shape: [2, 2], gzipLevel: 9)
            try f.createDataset("i64scalar", values: [Int64(-7)], shape: [])
        }
        let f = try H5File.open(path: p)
        XCTAssertEqual(try f.readDataset("f32/r1", as: Float.self), H5Array(shape: [12], values: floats))
        XCTAssertEqual(try f.readDataset("f32/r2", as: Float.self), H5Array(shape: [3, 4], values: floats))
        XCTAssertEqual(try f.readDataset("f32/r3", as: Float.self), H5Array(shape: [2, 3, 2], values: floats))
        XCTAssertEqual(try f.readDataset("f32/r4", as: Float.self), H5Array(shape: [1, 2, 1, 6], values: floats))
        XCTAssertEqual(try f.readDataset("f32/scalar", as: Float.self), H5Array(shape: [], values: [2.5]))
        XCTAssertEqual(try f.readDataset("f32/empty", as: Float.self), H5Array(shape: [0, 3], values: []))
        XCTAssertEqual(try f.readDataset("f64", as: Double.self), H5Array(shape: [2, 3], values: doubles))
        XCTAssertEqual(try f.readDataset("i32", as: Int32.self), H5Array(shape: [3, 2], values: int32s))
        XCTAssertEqual(try f.readDataset("i64", as: Int64.self), H5Array(shape: [6, 1], values: int64s))
        XCTAssertEqual(try f.readDataset("u8", as: UInt8.self), H5Array(shape: [2, 2], values: bytes))
        XCTAssertEqual(try f.readDataset("i64scalar", as: Int64.self), H5Array(shape: [], values: [-7]))
        // -0.0 keeps its sign bit.
        XCTAssertEqual(try f.readDataset("f32/r1", as: Float.self).values[1].sign, .minus)

        let expectedTypes: [String: H5ElementType] = ["f32/r2": .float32, "f64": .float64, "i32": .int32,
                                                      "i64": .int64, "u8": .uint8]
        for (name, type) in expectedTypes {
            XCTAssertEqual(try f.openDataset(name).elementType, type, name)
        }
        XCTAssertEqual(try f.openDataset("f32/r3").shape, [2, 3, 2])
        XCTAssertEqual(try f.openDataset("f32/r3").count, 12)
    }

    func testReadIntoBufferAndWriteFromBuffer() throws {
        let p = path("buffers.h5")
        let src: [Float] = (0..<20).map { Float($0) / 3 }
        try H5File.create(path: p) { f in
            let ds = try f.createDataset("w", elementType: .float32, shape: [4, 5])
            try src.withUnsafeBufferPointer { try ds.write($0) }
            _ = try src.withUnsafeBufferPointer { try f.createDataset("v", buffer: $0, shape: [20]) }
        }
        let f = try H5File.open(path: p)
        var dst = [Float](repeating: -1, count: 20)
        try dst.withUnsafeMutableBufferPointer { try f.openDataset("w").read(into: $0) }
        XCTAssertEqual(dst, src)
        var small = [Float](repeating: 0, count: 19)
        XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try f.openDataset("w").read(into: $0) }) {
            XCTAssertTrue("\($0)".contains("buffer has 19"), "\($0)")
        }
    }

    func testTypeMismatchThrowsUnlessConversionAllowed() throws {
        let p = path("convert.h5")
        try H5File.create(path: p) { f in try f.createDataset("i", values: [Int32(1), -2, 3]) }
        let f = try H5File.open(path: p)
        XCTAssertThrowsError(try f.readDataset("i", as: Float.self)) { error in
            let e = error as! HDF5Error
            XCTAssertEqual(e.object, "/i")
            XCTAssertTrue(e.message.contains("stores int32, requested float32"), e.message)
        }
        XCTAssertEqual(try f.readDataset("i", as: Int64.self, allowConversion: true).values, [1, -2, 3])
        XCTAssertEqual(try f.readDataset("i", as: Double.self, allowConversion: true).values, [1, -2, 3])
    }

    func testShapeAndArgumentValidation() throws {
        let f = try H5File.create(path: path("bad.h5"))
        defer { f.discard() }
        XCTAssertThrowsError(try f.createDataset("x", values: [Float](repeating: 0, count: 5), shape: [2, 3])) {
            XCTAssertTrue("\($0)".contains("holds 6 values, got 5"), "\($0)")
        }
        XCTAssertThrowsError(try f.createDataset("x", values: [Float](repeating: 0, count: 6), shape: [2, 3],
                                                 chunks: [4, 1])) {
            XCTAssertTrue("\($0)".contains("at most the shape"), "\($0)")
        }
        XCTAssertThrowsError(try f.createDataset("x", values: [Float](repeating: 0, count: 6), shape: [2, 3],
                                                 gzipLevel: 10)) {
            XCTAssertTrue("\($0)".contains("gzip level 10"), "\($0)")
        }
        try f.createDataset("x", values: [Float](repeating: 0, count: 6), shape: [2, 3])
        XCTAssertThrowsError(try f.createDataset("x", values: [Float(1)])) {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
        XCTAssertThrowsError(try f.openDataset("x").write([Double](repeating: 0, count: 6))) {
            XCTAssertTrue("\($0)".contains("stores float32, requested float64"), "\($0)")
        }
    }

    // MARK: Compression

    /// Filters of dataset `name` read with the raw C API, independent of HDF5IO's own reader.
    func rawFilters(file: String, dataset: String) throws -> (chunks: [UInt64], filters: [Int32: [UInt32]]) {
        let fid = H5Fopen(file, cgm_h5f_acc_rdonly(), cgm_h5p_default())
        XCTAssertGreaterThanOrEqual(fid, 0)
        defer { H5Fclose(fid) }
        let did = H5Dopen2(fid, dataset, cgm_h5p_default())
        XCTAssertGreaterThanOrEqual(did, 0)
        defer { H5Dclose(did) }
        let dcpl = H5Dget_create_plist(did)
        defer { H5Pclose(dcpl) }
        var chunks = [hsize_t](repeating: 0, count: 8)
        let rank = H5Pget_layout(dcpl) == H5D_CHUNKED ? Int(H5Pget_chunk(dcpl, 8, &chunks)) : 0
        var filters: [Int32: [UInt32]] = [:]
        for i in 0..<UInt32(H5Pget_nfilters(dcpl)) {
            var flags: UInt32 = 0, n = 4, config: UInt32 = 0
            var values = [UInt32](repeating: 0, count: 4)
            var name = [CChar](repeating: 0, count: 64)
            let id = H5Pget_filter2(dcpl, i, &flags, &n, &values, 64, &name, &config)
            filters[id] = Array(values.prefix(n))
        }
        return (Array(chunks.prefix(rank)), filters)
    }

    func testCompressionFlagsAreSetAndShrinkTheFile() throws {
        let zeros = [Float](repeating: 0, count: 64 * 1024)
        let plain = path("plain.h5"), packed = path("packed.h5")
        try H5File.create(path: plain) { try $0.createDataset("z", values: zeros, shape: [256, 256]) }
        try H5File.create(path: packed) {
            try $0.createDataset("z", values: zeros, shape: [256, 256], chunks: [64, 256], gzipLevel: 6,
                                 shuffle: true)
            try $0.createDataset("auto", values: zeros, shape: [256, 256], gzipLevel: 1)
        }
        let raw = try rawFilters(file: packed, dataset: "z")
        XCTAssertEqual(raw.chunks, [64, 256])
        XCTAssertEqual(raw.filters[H5Z_FILTER_DEFLATE], [6])
        XCTAssertNotNil(raw.filters[H5Z_FILTER_SHUFFLE])
        XCTAssertEqual(try rawFilters(file: plain, dataset: "z").filters.count, 0)
        let autoRaw = try rawFilters(file: packed, dataset: "auto")
        XCTAssertEqual(autoRaw.chunks, [256, 256], "256x256 floats = 256 KiB fits one automatic chunk")
        XCTAssertEqual(autoRaw.filters[H5Z_FILTER_DEFLATE], [1])

        let f = try H5File.open(path: packed)
        let info = try f.openDataset("z").storageInfo()
        XCTAssertEqual(info.chunks, [64, 256])
        XCTAssertEqual(info.gzipLevel, 6)
        XCTAssertTrue(info.isShuffled)
        XCTAssertEqual(try f.readDataset("z", as: Float.self).values, zeros)
        let plainInfo = try H5File.open(path: plain).openDataset("z").storageInfo()
        XCTAssertNil(plainInfo.chunks)
        XCTAssertNil(plainInfo.gzipLevel)

        let plainSize = try FileManager.default.attributesOfItem(atPath: plain)[.size] as! Int
        let packedSize = try FileManager.default.attributesOfItem(atPath: packed)[.size] as! Int
        XCTAssertGreaterThan(plainSize, 256 * 1024)
        XCTAssertLessThan(packedSize, plainSize / 4, "two gzip'd datasets of zeros should be far smaller")
    }

    func testAutomaticChunksStayBelowOneMiB() {
        XCTAssertEqual(H5Group.automaticChunks(shape: [10, 3], elementSize: 4), [10, 3])
        let c = H5Group.automaticChunks(shape: [1000, 1000], elementSize: 8)!
        XCTAssertLessThanOrEqual(c.reduce(8, *), 1 << 20)
        XCTAssertTrue(zip(c, [1000, 1000]).allSatisfy { $0 >= 1 && $0 <= $1 })
        XCTAssertNil(H5Group.automaticChunks(shape: [0, 4], elementSize: 4))
    }

    // MARK: Groups

    func testNestedGroupsMembersAndExists() throws {
        let p = path("groups.h5")
        try H5File.create(path: p) { f in
            let b = try f.createGroup("a/b")
            XCTAssertEqual(b.path, "/a/b")
            let c = try b.createGroup("c")
            XCTAssertEqual(c.path, "/a/b/c")
            try c.createDataset("d", values: [Int64(1)])
            try f.createDataset("a/x", values: [UInt8(1)])
            try f.createDataset("/top", values: [Double(1)])
            XCTAssertThrowsError(try f.createGroup("a/b")) { XCTAssertTrue("\($0)".contains("already exists")) }
            XCTAssertThrowsError(try f.createDataset("a/x/under", values: [Float(1)])) {
                XCTAssertTrue("\($0)".contains("parent '/a/x' is a dataset, not a group"), "\($0)")
            }
            XCTAssertThrowsError(try f.createGroup("/a/x/deeper/g")) {
                XCTAssertTrue("\($0)".contains("parent '/a/x' is a dataset"), "\($0)")
            }
            let again = try f.requireGroup("a/b")
            XCTAssertEqual(again.path, "/a/b")
            XCTAssertEqual(try f.requireGroup("new/one").path, "/new/one")
        }
        let f = try H5File.open(path: p)
        XCTAssertEqual(try f.members(), ["a", "new", "top"])
        XCTAssertEqual(try f.openGroup("a").members(), ["b", "x"])
        XCTAssertEqual(try f.openGroup("a/b/c").members(), ["d"])
        XCTAssertTrue(try f.exists("a/b/c/d"))
        XCTAssertTrue(try f.exists("/a/b/c/d"))
        XCTAssertTrue(try f.openGroup("a").exists("b/c"))
        XCTAssertTrue(try f.exists("/"))
        XCTAssertFalse(try f.exists("a/zz"))
        XCTAssertFalse(try f.exists("missing/deeper/path"))
        XCTAssertFalse(try f.exists("a/x/below-a-dataset"))
        XCTAssertEqual(try f.kind(of: "a/b"), .group)
        XCTAssertEqual(try f.kind(of: "a/b/c/d"), .dataset)
        XCTAssertNil(try f.kind(of: "nope"))
        XCTAssertThrowsError(try f.openGroup("top")) { XCTAssertTrue("\($0)".contains("not a group"), "\($0)") }
        XCTAssertThrowsError(try f.openDataset("a")) { XCTAssertTrue("\($0)".contains("not a dataset"), "\($0)") }
    }

    // MARK: Attributes

    func testAttributesOfEveryKindOnFileGroupAndDataset() throws {
        let p = path("attrs.h5")
        let values: [String: H5AttributeValue] = [
            "vstring": .string("glucose ✓ mg/dL"),
            "vempty": .string(""),
            "fstring": .fixedString("LSTM-2x64"),
            "fempty": .fixedString(""),
            "int": .int64(.min),
            "int_max": .int64(.max),
            "double": .double(-0.125),
            "floats": .floats([1.5, -2, .greatestFiniteMagnitude]),
            "floats_empty": .floats([]),
            "doubles": .doubles([.pi, 1e-300]),
            "ints": .int64s([3, -4, 1 << 50]),
            "ints_one": .int64s([9]),
        ]
        try H5File.create(path: p) { f in
            let g = try f.createGroup("g")
            let d = try g.createDataset("d", values: [Float(1), 2])
            for object in [f, g, d] as [H5Object] {
                for (k, v) in values { try object.setAttribute(k, v) }
                try object.setAttribute("replaced", .int64(1))
                try object.setAttribute("replaced", .string("second"))
            }
            try d.setAttribute("gone", .double(1))
            try d.deleteAttribute("gone")
        }
        let f = try H5File.open(path: p)
        let objects: [H5Object] = [f, try f.openGroup("g"), try f.openDataset("g/d")]
        for object in objects {
            for (k, v) in values { XCTAssertEqual(try object.attribute(k), v, "\(object.path) \(k)") }
            XCTAssertEqual(try object.attribute("replaced"), .string("second"))
            XCTAssertEqual(try object.attributeNames(), (Array(values.keys) + ["replaced"]).sorted())
        }
        let d = try f.openDataset("g/d")
        XCTAssertFalse(try d.hasAttribute("gone"))
        XCTAssertEqual(try d.stringAttribute("vstring"), "glucose ✓ mg/dL")
        XCTAssertEqual(try d.stringAttribute("fstring"), "LSTM-2x64")
        XCTAssertEqual(try d.int64Attribute("int"), .min)
        XCTAssertEqual(try d.doubleAttribute("double"), -0.125)
        XCTAssertEqual(try d.floatArrayAttribute("floats"), [1.5, -2, .greatestFiniteMagnitude])
        XCTAssertEqual(try d.floatArrayAttribute("doubles"), [Float(Double.pi), Float(1e-300)])
        XCTAssertEqual(try d.int64ArrayAttribute("ints"), [3, -4, 1 << 50])
        XCTAssertThrowsError(try d.int64Attribute("double")) {
            XCTAssertTrue("\($0)".contains("expected an integer scalar"), "\($0)")
        }
        XCTAssertThrowsError(try d.attribute("absent")) { error in
            let e = error as! HDF5Error
            XCTAssertEqual(e.object, "/g/d")
            XCTAssertTrue(e.description.contains("absent") && e.description.contains(p), e.description)
        }
    }

    func testAttributeStringTypesOnDisk() throws {
        let p = path("strtypes.h5")
        try H5File.create(path: p) { f in
            try f.setAttribute("v", .string("abc"))
            try f.setAttribute("f", .fixedString("abcd"))
        }
        let fid = H5Fopen(p, cgm_h5f_acc_rdonly(), cgm_h5p_default())
        defer { H5Fclose(fid) }
        for (name, variable, size) in [("v", true, -1), ("f", false, 4)] {
            let attr = H5Aopen(fid, name, cgm_h5p_default())
            let type = H5Aget_type(attr)
            XCTAssertEqual(H5Tget_class(type), H5T_STRING)
            XCTAssertEqual(H5Tis_variable_str(type) > 0, variable, name)
            if size > 0 { XCTAssertEqual(H5Tget_size(type), size) }
            XCTAssertEqual(H5Tget_cset(type), H5T_CSET_UTF8)
            H5Tclose(type)
            H5Aclose(attr)
        }
    }

    // MARK: Atomic writes

    func testCreateWritesTemporaryUntilCommit() throws {
        let p = path("atomic.h5")
        let f = try H5File.create(path: p)
        try f.createDataset("x", values: [Float(1), 2, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: p), "final path must not exist before commit")
        XCTAssertEqual(try directoryListing(), ["atomic.h5.tmp-\(getpid())"])
        try f.commit()
        XCTAssertEqual(try directoryListing(), ["atomic.h5"])
        try f.commit() // idempotent
        XCTAssertFalse(f.isOpen)
        XCTAssertEqual(try H5File.open(path: p).readDataset("x", as: Float.self).values, [1, 2, 3])
    }

    func testFailedWriteLeavesNoFileAndNoTemporary() throws {
        struct Boom: Error {}
        let p = path("failed.h5")
        XCTAssertThrowsError(try H5File.create(path: p) { f in
            try f.createDataset("x", values: [Float](repeating: 1, count: 1000))
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try directoryListing(), [])

        // Dropped without commit: deinit discards.
        do {
            let f = try H5File.create(path: p)
            try f.createGroup("g").createDataset("y", values: [Int32(1)])
        }
        XCTAssertEqual(try directoryListing(), [])

        // Explicit discard.
        let f = try H5File.create(path: p)
        try f.setAttribute("a", .int64(1))
        f.discard()
        XCTAssertEqual(try directoryListing(), [])
        XCTAssertThrowsError(try f.setAttribute("b", .int64(2))) {
            XCTAssertTrue("\($0)".contains("already closed"), "\($0)")
        }
    }

    func testFailedRewriteKeepsThePreviousFile() throws {
        let p = path("keep.h5")
        try H5File.create(path: p) { try $0.createDataset("version", values: [Int64(1)]) }
        XCTAssertThrowsError(try H5File.create(path: p) { f in
            try f.createDataset("version", values: [Int64(2)])
            _ = try f.openDataset("missing")
        })
        XCTAssertEqual(try directoryListing(), ["keep.h5"])
        XCTAssertEqual(try H5File.open(path: p).readDataset("version", as: Int64.self).values, [1])
        // A successful rewrite replaces it.
        try H5File.create(path: p) { try $0.createDataset("version", values: [Int64(3)]) }
        XCTAssertEqual(try H5File.open(path: p).readDataset("version", as: Int64.self).values, [3])
    }

    // MARK: Errors

    func testMissingFileErrorNamesThePath() throws {
        let p = path("does-not-exist.h5")
        XCTAssertThrowsError(try H5File.open(path: p)) { error in
            let e = error as! HDF5Error
            XCTAssertEqual(e.file, p)
            XCTAssertTrue(e.description.contains(p), e.description)
            XCTAssertTrue(e.description.contains("no such file"), e.description)
        }
        // Not an HDF5 file: HDF5's own explanation is included.
        let junk = path("junk.h5")
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try H5File.open(path: junk)) { error in
            let e = error as! HDF5Error
            XCTAssertEqual(e.file, junk)
            XCTAssertTrue(e.message.contains("H5Fopen"), e.message)
        }
        // Unwritable location.
        XCTAssertThrowsError(try H5File.create(path: path("no/such/dir/x.h5"))) { error in
            XCTAssertTrue("\(error)".contains("no/such/dir/x.h5"), "\(error)")
        }
    }

    func testMissingDatasetErrorNamesFileAndObjectPath() throws {
        let p = path("missing.h5")
        try H5File.create(path: p) { try $0.createGroup("data") }
        let f = try H5File.open(path: p)
        XCTAssertThrowsError(try f.openGroup("data").readDataset("glucose", as: Float.self)) { error in
            let e = error as! HDF5Error
            XCTAssertEqual(e.file, p)
            XCTAssertEqual(e.object, "/data/glucose")
            XCTAssertTrue(e.description.contains("/data/glucose") && e.description.contains(p), e.description)
            XCTAssertTrue(e.description.contains("no such dataset"), e.description)
        }
        XCTAssertThrowsError(try f.openGroup("nope/deeper")) { error in
            XCTAssertEqual((error as! HDF5Error).object, "/nope/deeper")
        }
    }

    func testReadOnlyFileRejectsWrites() throws {
        let p = path("ro.h5")
        try H5File.create(path: p) { try $0.createDataset("x", values: [Float(1)]) }
        let f = try H5File.open(path: p)
        XCTAssertTrue(f.isReadOnly)
        XCTAssertThrowsError(try f.createGroup("g")) { XCTAssertTrue("\($0)".contains("read-only"), "\($0)") }
        XCTAssertThrowsError(try f.setAttribute("a", .int64(1))) { XCTAssertTrue("\($0)".contains("read-only")) }
        try f.close() // HDF5 refuses to reopen a file read-write while it is open read-only

        let rw = try H5File.open(path: p, readOnly: false)
        try rw.createDataset("y", values: [Float(2)])
        try rw.close()
        XCTAssertEqual(try H5File.open(path: p).members(), ["x", "y"])
    }

    // MARK: Identifier hygiene

    /// Creates and closes one dataspace, datatype and property list and returns their identifiers. HDF5
    /// numbers the identifiers of each type with an increasing counter, so every identifier of these types
    /// created between two probes lies strictly between the probes' values.
    func probeIDs() -> [hid_t] {
        let space = H5Screate(H5S_SCALAR), type = H5Tcopy(cgm_h5t_native_int32())
        let plist = H5Pcreate(cgm_h5p_dataset_create())
        H5Sclose(space); H5Tclose(type); H5Pclose(plist)
        return [space, type, plist]
    }

    /// Identifiers of the probed types created between `before` and `after` that are still open.
    func leakedIDs(_ before: [hid_t], _ after: [hid_t]) -> [hid_t] {
        zip(before, after).flatMap { a, b in (a + 1..<b).filter { H5Iis_valid($0) > 0 } }
    }

    /// Open files, groups, datasets, named datatypes and attributes of all files.
    func openFileObjects() -> Int { H5Fget_obj_count(hid_t(cgm_h5f_obj_all()), cgm_h5f_obj_all()) }

    func testNoIdentifierLeaks() throws {
        let p = path("leaks.h5")
        let objectsBefore = openFileObjects()
        let probeBefore = probeIDs()
        let f = try H5File.create(path: p)
        do {
            let g = try f.createGroup("a/b")
            let d = try g.createDataset("d", values: [Float(1), 2, 3, 4], shape: [2, 2], gzipLevel: 3)
            try d.setAttribute("s", .string("x"))
            try d.setAttribute("s", .string("replaced"))
            try d.setAttribute("fs", .fixedString("y"))
            try d.setAttribute("fa", .floats([1]))
            try d.setAttribute("i", .int64(1))
            for name in ["s", "fs", "fa", "i"] { _ = try d.attribute(name) }
            _ = try d.attributeNames()
            _ = try d.storageInfo()
            _ = try f.members()
            _ = try f.exists("a/b/d")
            _ = try f.kind(of: "a/b")
            _ = try f.readDataset("a/b/d", as: Float.self)
            XCTAssertThrowsError(try f.openDataset("a/zz"))
            XCTAssertThrowsError(try f.createDataset("a/b/d/e", values: [Float(1)]))
        }
        // Only the file itself is still open.
        XCTAssertEqual(H5Fget_obj_count(f.state.id, cgm_h5f_obj_all()), 1)
        try f.commit()
        do {
            let r = try H5File.open(path: p)
            _ = try r.readDataset("a/b/d", as: Float.self)
            _ = try r.openGroup("a").attributeNames()
        }
        // A group keeps its file open; closing the file explicitly invalidates the group (strong close).
        let g = try H5File.open(path: p).openGroup("a")
        XCTAssertEqual(try g.members(), ["b"])
        try g.owner!.close()
        XCTAssertThrowsError(try g.members()) { XCTAssertTrue("\($0)".contains("already closed"), "\($0)") }

        XCTAssertEqual(openFileObjects(), objectsBefore, "files/groups/datasets/attributes left open")
        let probeAfter = probeIDs()
        XCTAssertTrue(zip(probeBefore, probeAfter).allSatisfy { $0 < $1 }, "probe identifiers must increase")
        XCTAssertEqual(leakedIDs(probeBefore, probeAfter), [], "dataspaces/datatypes/property lists left open")
    }

    // MARK: h5dump compatibility

    func testH5DumpReadsOurFile() throws {
        guard let h5dump = ["/usr/bin/h5dump", "/usr/local/bin/h5dump"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { throw XCTSkip("h5dump (hdf5-tools) not installed") }
        let p = path("dump.h5")
        try H5File.create(path: p) { f in
            let g = try f.createGroup("model/lstm")
            try g.createDataset("w", values: (0..<6).map { Float($0) }, shape: [2, 3], gzipLevel: 4)
            try g.setAttribute("hidden", .int64(64))
            try f.setAttribute("name", .string("cgm"))
            try f.createDataset("ids", values: [Int64(5), 6])
        }
        func run(_ args: [String]) throws -> (Int32, String) {
            let proc = Process()
            proc.executableURL = URL(fileURLWithPath: h5dump)
            proc.arguments = args
            let out = Pipe()
            proc.standardOutput = out
            proc.standardError = out
            try proc.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            proc.waitUntilExit()
            return (proc.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let (status, header) = try run(["-H", "-p", p])
        XCTAssertEqual(status, 0, header)
        for needle in ["GROUP \"model\"", "GROUP \"lstm\"", "DATASET \"w\"", "H5T_IEEE_F32LE",
                       "SIMPLE { ( 2, 3 ) / ( 2, 3 ) }", "COMPRESSION DEFLATE { LEVEL 4 }",
                       "ATTRIBUTE \"hidden\"", "ATTRIBUTE \"name\"", "DATASET \"ids\"", "H5T_STD_I64LE"] {
            XCTAssertTrue(header.contains(needle), "h5dump -H output lacks \(needle):\n\(header)")
        }
        let (status2, data) = try run(["-d", "/model/lstm/w", p])
        XCTAssertEqual(status2, 0, data)
        XCTAssertTrue(data.contains("0, 1, 2,") && data.contains("3, 4, 5"), data)
    }
}
