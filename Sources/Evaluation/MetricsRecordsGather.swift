// Gathering ForecastRecords across ranks: each rank serializes its records to bytes (little-endian, fixed
// layout below), the byte counts are all-gathered, then the bytes (padded to the longest), and every rank
// decodes and merges all parts. The merged set is ordered by segment id, so it is identical for any number
// of ranks.
//
//   header   "CGMR" u32 version=1, i64 horizon, i64 Q, Q × f32 levels, i64 count
//   record   i64 segment, i64 decisionTime, str subject, str group, f32 naive, H × f32 target,
//            H × f32 prediction, H·Q × f32 quantiles          (str = i64 byte count + UTF-8 bytes)

import Distributed
import Foundation

extension ForecastRecords {
    /// Every rank's records merged, on every rank. Collective: all ranks of `comm` must call it.
    public func gathered(over comm: any Communicator) throws -> ForecastRecords {
        if comm.size == 1 { return self }
        let mine = serialized()
        var length = Int64(mine.count)
        var lengths = [Int64](repeating: 0, count: comm.size)
        try lengths.withUnsafeMutableBufferPointer { recv in
            try comm.allGather(&length, count: 1, into: recv.baseAddress!)
        }
        let width = Int(lengths.max() ?? 0)
        var send = mine + [UInt8](repeating: 0, count: width - mine.count)
        var all = [UInt8](repeating: 0, count: width * comm.size)
        try send.withUnsafeMutableBufferPointer { s in
            try all.withUnsafeMutableBufferPointer { r in
                try comm.allGather(UnsafePointer(s.baseAddress!), count: width, into: r.baseAddress!)
            }
        }
        var parts: [ForecastRecords] = []
        for rank in 0..<comm.size {
            let start = rank * width
            do {
                parts.append(try ForecastRecords(serialized: Array(all[start..<(start + Int(lengths[rank]))])))
            } catch {
                throw EvaluationError("forecast records from rank \(rank): \(error)")
            }
        }
        return try ForecastRecords.merged(parts)
    }

    /// The records as bytes (the layout in this file's header comment).
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.bytes += Array("CGMR".utf8)
        w.u32(1)
        w.i64(Int64(horizon))
        w.i64(Int64(quantileCount))
        quantileLevels.forEach { w.f32($0) }
        w.i64(Int64(records.count))
        for r in records {
            w.i64(Int64(r.segment))
            w.i64(r.decisionTime)
            w.string(r.subject)
            w.string(r.group)
            w.f32(r.naive)
            r.target.forEach { w.f32($0) }
            r.prediction.forEach { w.f32($0) }
            r.quantiles.forEach { w.f32($0) }
        }
        return w.bytes
    }

    /// Decodes `serialized()` bytes.
    public init(serialized bytes: [UInt8]) throws {
        var r = ByteReader(bytes: bytes)
        guard Array(try r.take(4)) == Array("CGMR".utf8) else { throw EvaluationError("not serialized forecast records") }
        let version = try r.u32()
        guard version == 1 else { throw EvaluationError("forecast records version \(version), expected 1") }
        let h = Int(try r.i64()), q = try r.count()   // a rank without windows sends a horizon but no bytes for it
        guard (1...1 << 20).contains(h) else { throw EvaluationError("serialized forecast records: horizon \(h)") }
        let levels = try (0..<q).map { _ in try r.f32() }
        let n = try r.count()
        self.init(horizon: h, quantileLevels: levels)
        var list: [ForecastRecord] = []
        for _ in 0..<n {
            let segment = Int(try r.i64()), time = try r.i64()
            let subject = try r.string(), group = try r.string()
            let naive = try r.f32()
            let target = try r.floats(h), prediction = try r.floats(h), quantiles = try r.floats(h * q)
            list.append(ForecastRecord(segment: segment, subject: subject, group: group, decisionTime: time,
                                       target: target, prediction: prediction, naive: naive, quantiles: quantiles))
        }
        guard r.offset == bytes.count else {
            throw EvaluationError("serialized forecast records: \(bytes.count - r.offset) trailing bytes")
        }
        try append(contentsOf: list)
    }
}

private struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        i64(Int64(utf8.count))
        bytes += utf8
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else {
            throw EvaluationError("serialized forecast records truncated at byte \(offset)")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
    mutating func u32() throws -> UInt32 {
        try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
    mutating func i64() throws -> Int64 {
        Int64(bitPattern: try take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
    mutating func count() throws -> Int {
        let v = try i64()
        guard v >= 0, v <= Int64(bytes.count) else { throw EvaluationError("serialized forecast records: bad count \(v)") }
        return Int(v)
    }
    mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    mutating func floats(_ n: Int) throws -> [Float] { try (0..<n).map { _ in try f32() } }
    mutating func string() throws -> String {
        let n = try count()
        guard let s = String(bytes: try take(n), encoding: .utf8) else {
            throw EvaluationError("serialized forecast records: invalid UTF-8 at byte \(offset)")
        }
        return s
    }
}
