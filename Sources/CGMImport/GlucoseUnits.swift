// Glucose units and the device's "Low" / "High" texts. Exports write either mg/dL or mmol/L (named in the
// column header); everything is written out in mg/dL. A reading below or above the sensor's range is
// exported as text ("Low", "High", "LO", "HI"): it becomes the device's limit, flagged as censored.

import DelimitedText

/// A glucose unit.
public enum GlucoseUnit: String, Codable, Sendable {
    case mgdl = "mg/dL"
    case mmol = "mmol/L"

    /// mg/dL per mmol/L: the molar mass of glucose, 180.16 g/mol (the factor `prepare` uses for
    /// glucose_mmol_l; a test keeps them equal).
    public static let mgdlPerMmol = 18.016

    /// The value in mg/dL.
    @inline(__always) func mgdl(_ v: Double) -> Double { self == .mmol ? v * GlucoseUnit.mgdlPerMmol : v }

    /// The unit a column header names (`Glucose Value (mg/dL)`, `Historic Glucose mmol/L`, `glucose_mmol_l`),
    /// or nil when it names none.
    public static func named(inHeader header: String) -> GlucoseUnit? {
        let h = header.lowercased().replacingOccurrences(of: " ", with: "")
        if h.contains("mmol") { return .mmol }
        if h.contains("mg/dl") || h.contains("mg_dl") || h.contains("mgdl") || h.contains("mg/dl") { return .mgdl }
        return nil
    }

    /// The unit values suggest when no header names one: CGM values in mmol/L lie in 2–33, in mg/dL in 40–600,
    /// so a median below 35 means mmol/L.
    public static func guessed(fromMedian median: Double) -> GlucoseUnit { median < 35 ? .mmol : .mgdl }
}

/// The sensor limits a "Low" / "High" text stands for, in mg/dL.
public struct SensorLimits: Sendable {
    /// The reading written for "Low".
    public var low: Double
    /// The reading written for "High".
    public var high: Double

    /// Dexcom G4–G7 and Medtronic Guardian sensors: 40–400 mg/dL (2.2–22.2 mmol/L on mmol/L displays).
    public static let dexcom = SensorLimits(low: 40, high: 400)
    /// FreeStyle Libre: 40–500 mg/dL (LO/HI outside).
    public static let libre = SensorLimits(low: 40, high: 500)
}

/// Whether a reading was a Low/High text replaced by the sensor's limit.
public enum Censoring: UInt8, Codable, Sendable {
    case none = 0, low = 1, high = 2
}

/// A parsed glucose cell.
enum GlucoseCell {
    /// Empty or a missing marker.
    case missing
    /// A value in mg/dL (converted from the column's unit), with its censoring.
    case value(Double, Censoring)
    /// Neither a number nor a known text.
    case invalid
}

extension GlucoseCell {
    /// Reads a glucose cell in `unit`: a number, a Low/High text (→ `limits`), or empty (also `-------`). `decimalComma`
    /// accepts `5,6` for 5.6 (semicolon-separated European exports).
    static func parse(_ raw: UnsafeBufferPointer<UInt8>, unit: GlucoseUnit, limits: SensorLimits,
                      decimalComma: Bool = false) -> GlucoseCell {
        if DecimalText.isAbsent(raw) { return .missing }
        if let v = DecimalText.parse(raw, decimalComma: decimalComma) { return .value(unit.mgdl(v), .none) }
        let b = CSVNumber.trim(raw)
        switch b.count {
        case 2:
            if b[0] | 0x20 == 0x6C, b[1] | 0x20 == 0x6F { return .value(limits.low, .low) }     // LO
            if b[0] | 0x20 == 0x68, b[1] | 0x20 == 0x69 { return .value(limits.high, .high) }   // HI
        case 3:
            if b[0] | 0x20 == 0x6C, b[1] | 0x20 == 0x6F, b[2] | 0x20 == 0x77 { return .value(limits.low, .low) }  // low
        case 4:
            if b[0] | 0x20 == 0x68, b[1] | 0x20 == 0x69, b[2] | 0x20 == 0x67, b[3] | 0x20 == 0x68 {             // high
                return .value(limits.high, .high)
            }
        default: break
        }
        return .invalid
    }
}

/// Decimal numbers with a point or (European exports) a comma, and the `-------` placeholder of CareLink.
enum DecimalText {
    /// The number in `raw`; nil if empty, a placeholder or not a number.
    static func parse(_ raw: UnsafeBufferPointer<UInt8>, decimalComma: Bool) -> Double? {
        if let v = CSVNumber.parseDouble(raw) { return v }
        guard decimalComma else { return nil }
        let b = CSVNumber.trim(raw)
        guard b.count <= 40, let comma = b.firstIndex(of: 0x2C) else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: b.count) { tmp in
            for k in 0 ..< b.count { tmp[k] = k == comma ? 0x2E : b[k] }
            return CSVNumber.parseDouble(UnsafeBufferPointer(tmp))
        }
    }

    /// Whether `raw` is empty, a missing marker or a run of dashes (`-------`).
    static func isAbsent(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        if CSVNumber.isMissing(raw) { return true }
        let b = CSVNumber.trim(raw)
        return b.allSatisfy { $0 == 0x2D }
    }
}
