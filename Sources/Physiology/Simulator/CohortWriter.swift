import Foundation

/// Writes a simulated cohort in the canonical CSV schema:
///
/// * `DIR/cgm.csv` — long format, one row per timestamp per subject: `subject_id, timestamp,
///   glucose_mg_dl, carbs_g, protein_g, fat_g, fibre_g, insulin_bolus_u, insulin_basal_u_per_h,
///   heart_rate_bpm, respiration_rate, spo2, steps, stress, calories, sleep_stage, meal_flag`.
///   Rows come from CGM readings (empty glucose in dropouts and warm-ups), wearable samples on the
///   5-minute grid, logged meals (macros, `meal_flag` = 1) and boluses at their own minute (event-only
///   rows when nothing else happens then). The basal column carries the rate in effect at the row for
///   insulin users (pens: long-acting dose as an hourly rate) and is empty otherwise. Empty cells mean
///   absent. Timestamps are ISO 8601 UTC; some subjects' CGM clocks are offset from the grid or sample
///   every 1 or 15 minutes, and some rows are duplicated, so ingest has work to do.
/// * `DIR/subjects.csv` — `subject_id, age, diabetes_status, clinical_site, weight_kg, hba1c`
///   (HbA1c from the mean simulated glucose by the ADAG relation, Nathan et al. 2008, ± 0.2 %).
/// * `DIR/truth/` — `meals.csv` (every eating event, logged or not: the meal-detection labels),
///   `boluses.csv`, `activity.csv`, `glucose.csv` (plasma and interstitial, 5-minute grid),
///   `sensor_artifacts.csv`, `subjects.csv` (group, therapy, devices, all model parameters).
///
/// Each file is written to `name.partial-<pid>` and renamed into place when complete.
public final class CohortWriter {
    public static let cgmHeader = "subject_id,timestamp,glucose_mg_dl,carbs_g,protein_g,fat_g,fibre_g,insulin_bolus_u,"
        + "insulin_basal_u_per_h,heart_rate_bpm,respiration_rate,spo2,steps,stress,calories,sleep_stage,meal_flag"
    public static let subjectsHeader = "subject_id,age,diabetes_status,clinical_site,weight_kg,hba1c"

    private struct Output {
        let final: URL
        let partial: URL
        let handle: FileHandle
    }

    private let directory: URL
    private let config: CohortConfig
    private let truth: Bool
    private var outputs: [String: Output] = [:]
    /// Rows written to `cgm.csv` so far (duplicates included).
    public private(set) var cgmRows = 0

    /// Opens the output files under `directory` (created if needed); `truth` adds `DIR/truth/`.
    public init(directory: String, config: CohortConfig, truth: Bool = true) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.config = config
        self.truth = truth
        let fm = FileManager.default
        try fm.createDirectory(at: self.directory, withIntermediateDirectories: true)
        try open("cgm.csv", header: CohortWriter.cgmHeader)
        try open("subjects.csv", header: CohortWriter.subjectsHeader)
        if truth {
            try fm.createDirectory(at: self.directory.appendingPathComponent("truth"), withIntermediateDirectories: true)
            try open("truth/meals.csv", header: "subject_id,timestamp,kind,carbs_g,protein_g,fat_g,fibre_g,tmax_min,bioavailability,logged")
            try open("truth/boluses.csv", header: "subject_id,timestamp,units,kind")
            try open("truth/activity.csv", header: "subject_id,start,end,kind,intensity_hrr,steps_per_min,basal_reduced")
            try open("truth/glucose.csv", header: "subject_id,timestamp,plasma_mg_dl,interstitial_mg_dl")
            try open("truth/sensor_artifacts.csv", header: "subject_id,start,end,kind,magnitude_mg_dl")
            try open("truth/subjects.csv", header: "subject_id,diabetes_status,female,height_cm,fasting_mg_dl,mean_glucose_mg_dl,"
                + "basal_u_per_h,pump,true_icr_g_per_u,true_isf_mg_dl_per_u,icr_g_per_u,isf_mg_dl_per_u,beta_cell_capacity,"
                + "cgm_interval_min,cgm_phase_s,sensor_lag_min,noise_sd_mg_dl,wearable,"
                + "f01,vg,k12,ag,tmax_g,egp0,tmax_i,ke,vi,ka1,ka2,ka3,sf1,sf2,sf3,body_weight_kg")
            try open("truth/README.md", header: CohortWriter.truthReadme)
        }
    }

    /// What the truth files hold (written as `truth/README.md`).
    static let truthReadme = """
        # Ground truth of the simulated cohort

        Written by `cgmtrain simulate` next to `cgm.csv` / `subjects.csv`; timestamps are ISO 8601 UTC.

        - `meals.csv`: every eating event, logged or not (`logged` 0/1): the meal-detection labels.
          `kind` breakfast/lunch/dinner/snack/rescue; macros in g; `tmax_min` and `bioavailability`
          of its gut absorption (fat and fibre lengthen t_max: t_max,G · min(2.2, 1 + 0.010 fat +
          0.015 fibre + 0.003 protein)).
        - `boluses.csv`: delivered boluses (U), `kind` meal/correction (missed meal boluses are absent).
        - `activity.csv`: exercise sessions (walk/run/cycle) and walking bouts, target heart-rate-reserve
          intensity, cadence (steps/min), whether the pump basal was reduced to 50 %.
        - `glucose.csv`: plasma and interstitial glucose (mg/dL) every 5 minutes, before sensor error.
        - `sensor_artifacts.csv`: dropouts and warm-ups (no readings), compression lows and spikes
          (`magnitude_mg_dl`), for scoring QC.
        - `subjects.csv`: group, sex, height, fasting equilibrium and mean glucose, therapy (basal U/h,
          pump, true and used ICR g/U and ISF mg/dL/U), beta-cell capacity, CGM interval/phase/lag/noise,
          wearable, and the 16 Hovorka parameters (Appendix B Table 3 units: mmol/kg/min, L/kg, 1/min,
          min, (mU/L)^-1 min^-1).

        """

    private func open(_ name: String, header: String) throws {
        let final = directory.appendingPathComponent(name)
        let partial = URL(fileURLWithPath: final.path + ".partial-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: partial.path, contents: Data((header + "\n").utf8)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: partial.path])
        }
        let handle = try FileHandle(forWritingTo: partial)
        handle.seekToEndOfFile()
        outputs[name] = Output(final: final, partial: partial, handle: handle)
    }

    private func write(_ name: String, _ lines: [String]) {
        guard !lines.isEmpty, let out = outputs[name] else { return }
        out.handle.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    private func timestamp(_ seconds: Int64) -> String { Timestamp.iso8601(config.startEpochSeconds + seconds) }

    /// Appends one subject to every file.
    public func append(_ r: SubjectRecord) {
        let lines = CohortWriter.cgmLines(r, config: config)
        cgmRows += lines.count
        write("cgm.csv", lines)
        write("subjects.csv", [CohortWriter.subjectLine(r, config: config)])
        guard truth else { return }
        let s = r.profile
        let id = s.id
        write("truth/meals.csv", r.meals.map { m in
            [id, timestamp(Int64(m.minute) * 60), m.kind.rawValue, CSVFormat.fixed(m.carbs, 0), CSVFormat.fixed(m.protein, 0),
             CSVFormat.fixed(m.fat, 0), CSVFormat.fixed(m.fibre, 0), CSVFormat.fixed(m.tmax, 1),
             CSVFormat.fixed(m.bioavailability, 3), m.logged ? "1" : "0"].joined(separator: ",")
        })
        write("truth/boluses.csv", r.boluses.map { b in
            [id, timestamp(Int64(b.minute) * 60), CSVFormat.fixed(b.units, 2), b.kind.rawValue].joined(separator: ",")
        })
        write("truth/activity.csv", r.bouts.map { b in
            [id, timestamp(Int64(b.start * 60)), timestamp(Int64(b.end * 60)), b.kind.rawValue, CSVFormat.fixed(b.intensity, 3),
             CSVFormat.fixed(b.cadence, 0), b.basalReduction ? "1" : "0"].joined(separator: ",")
        })
        write("truth/glucose.csv", stride(from: 0, to: r.minutes, by: 5).map { m in
            [id, timestamp(Int64(m + 1) * 60), CSVFormat.fixed(Double(r.plasma[m]), 1),
             CSVFormat.fixed(Double(r.interstitial[m]), 1)].joined(separator: ",")
        })
        write("truth/sensor_artifacts.csv", r.artifacts.map { a in
            [id, timestamp(a.start), timestamp(a.end), a.kind.rawValue, CSVFormat.fixed(a.magnitude, 1)].joined(separator: ",")
        })
        let p = s.parameters, t = s.therapy, d = s.devices
        let fields: [String] = [
            id, s.status.rawValue, s.female ? "1" : "0", CSVFormat.fixed(s.heightCm, 1), CSVFormat.fixed(s.fastingMgDl, 1),
            CSVFormat.fixed(r.meanGlucose, 1), CSVFormat.fixed(t.basalUPerH, 3), t.pump ? "1" : "0",
            CSVFormat.fixed(t.trueICR, 2), CSVFormat.fixed(t.trueISF, 2), CSVFormat.fixed(t.icr, 2), CSVFormat.fixed(t.isf, 2),
            CSVFormat.fixed(s.secretion.capacity, 3), String(d.cgmIntervalMinutes), String(d.cgmPhaseSeconds),
            CSVFormat.fixed(d.sensorLag, 2), CSVFormat.fixed(d.noiseSD, 2), d.wearable ? "1" : "0",
        ] + [p.f01, p.vg, p.k12, p.ag, p.tmaxG, p.egp0, p.tmaxI, p.ke, p.vi, p.ka1, p.ka2, p.ka3, p.sf1, p.sf2, p.sf3]
            .map { "\($0)" } + [CSVFormat.fixed(p.bodyWeight, 2)]
        write("truth/subjects.csv", [fields.joined(separator: ",")])
    }

    /// Closes every file and renames it into place.
    public func finish() throws {
        for (_, out) in outputs.sorted(by: { $0.key < $1.key }) {
            out.handle.closeFile()
            if rename(out.partial.path, out.final.path) != 0 {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: out.final.path])
            }
        }
        outputs.removeAll()
    }

    /// The `subjects.csv` line of a record.
    static func subjectLine(_ r: SubjectRecord, config: CohortConfig) -> String {
        var rng = SeededGenerator(seed: config.seed, stream: 7000 + UInt64(r.profile.index))
        let hba1c = min(14, max(4.2, (r.meanGlucose + 46.7) / 28.7 + 0.2 * rng.normal()))
        let s = r.profile
        return [s.id, String(s.age), s.status.rawValue, s.site, CSVFormat.fixed(s.parameters.bodyWeight, 1),
                CSVFormat.fixed(hba1c, 1)].joined(separator: ",")
    }

    /// One merged row of `cgm.csv` before formatting.
    private struct Row {
        var hasReading = false
        var glucose: Int?
        var carbs = 0.0, protein = 0.0, fat = 0.0, fibre = 0.0
        var meal = false
        var bolus = 0.0
        var hasBolus = false
        var wearable: WearableSample?
    }

    /// The `cgm.csv` lines of one subject, time order, duplicates included.
    static func cgmLines(_ r: SubjectRecord, config: CohortConfig) -> [String] {
        var rows: [Int64: Row] = [:]
        for (t, v) in r.readings {
            rows[t, default: Row()].hasReading = true
            rows[t, default: Row()].glucose = v
        }
        for (k, w) in r.wearable.enumerated() {
            if let w { rows[Int64(k + 1) * 300, default: Row()].wearable = w }
        }
        for m in r.meals where m.logged {
            let t = Int64(m.minute) * 60
            rows[t, default: Row()].meal = true
            rows[t, default: Row()].carbs += m.carbs
            rows[t, default: Row()].protein += m.protein
            rows[t, default: Row()].fat += m.fat
            rows[t, default: Row()].fibre += m.fibre
        }
        for b in r.boluses {
            let t = Int64(b.minute) * 60
            rows[t, default: Row()].hasBolus = true
            rows[t, default: Row()].bolus += b.units
        }
        let insulin = r.profile.status.usesInsulin
        let id = r.profile.id
        var rng = SeededGenerator(seed: config.seed, stream: 6000 + UInt64(r.profile.index))
        var lines: [String] = []
        lines.reserveCapacity(rows.count + 16)
        for t in rows.keys.sorted() {
            let row = rows[t]!
            let minute = min(r.minutes - 1, Int(t / 60))
            let w = row.wearable
            var f: [String] = [id, Timestamp.iso8601(config.startEpochSeconds + t), CSVFormat.optional(row.glucose)]
            if row.meal {
                f += [CSVFormat.fixed(row.carbs, 0), CSVFormat.fixed(row.protein, 0), CSVFormat.fixed(row.fat, 0),
                      CSVFormat.fixed(row.fibre, 0)]
            } else {
                f += ["", "", "", ""]
            }
            f.append(row.hasBolus ? CSVFormat.fixed(row.bolus, 2) : "")
            f.append(insulin ? CSVFormat.fixed(Double(r.basal[minute]), 3) : "")
            if let w {
                f += [String(w.heartRate), CSVFormat.fixed(w.respiration, 1), CSVFormat.optional(w.spo2), String(w.steps),
                      CSVFormat.optional(w.stress), CSVFormat.fixed(w.calories, 1), w.sleepStage]
            } else {
                f += ["", "", "", "", "", "", ""]
            }
            f.append(row.meal ? "1" : "")
            let line = f.joined(separator: ",")
            lines.append(line)
            if r.profile.devices.duplicateProbability > 0 && rng.bernoulli(r.profile.devices.duplicateProbability) {
                lines.append(line)
            }
        }
        return lines
    }
}
