// The files `cgmtrain explain` writes (all atomically) into OUT/:
//   importance_{static,encoder,decoder}.csv        variable,importance   (global, mean over subjects)
//   importance_{encoder,decoder}_by_step.csv         step,<variable>…     (step relative to the decision time)
//   importance_{static,encoder,decoder}.svg           bar-like one-row heatmap / variable × step heatmap
//   attention/<map>.csv                                query_step,<key step>… (the full L+H × L+H map)
//   attention/<map>.svg                                heatmap of the last `window` steps (the paper's 60)
//   attention/<map>_decoder.svg                        decoder rows over every key step (Figure 2B)
//   summary.txt                                        windows, subjects, top variables

import Charts
import Evaluation
import Foundation

extension ModelExplanation {
    /// Writes the files listed in the header into `dir`; SVG attention crops show the last `window` steps.
    public func write(toDirectory dir: String, window: Int = 60) throws {
        try EvaluationFiles.ensureDirectory(dir)
        let attentionDir = (dir as NSString).appendingPathComponent("attention")
        try EvaluationFiles.ensureDirectory(attentionDir)
        func path(_ name: String, in d: String = dir) -> String { (d as NSString).appendingPathComponent(name) }
        func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "nan" }
        func label(_ step: Int) -> String { step > 0 ? "+\(step)" : "\(step)" }

        let blocks: [(String, VariableImportance, [Int])] = [
            ("static", staticImportance, [0]),
            ("encoder", encoderImportance, Array((1 - encoderImportance.byStep.count)...0)),
            ("decoder", decoderImportance, Array(1...max(1, decoderImportance.byStep.count))),
        ]
        for (block, imp, steps) in blocks where !imp.names.isEmpty {
            var csv = "variable,importance\n"
            for (n, v) in zip(imp.names, imp.global).sorted(by: { $0.1 > $1.1 }) { csv += "\(EvalCSV.field(n)),\(number(v))\n" }
            try EvaluationFiles.writeAtomically(csv, to: path("importance_\(block).csv"))
            if block != "static" {
                var rows = "step," + imp.names.map(EvalCSV.field).joined(separator: ",") + "\n"
                for (s, row) in zip(steps, imp.byStep) { rows += "\(label(s))," + row.map(number).joined(separator: ",") + "\n" }
                try EvaluationFiles.writeAtomically(rows, to: path("importance_\(block)_by_step.csv"))
                let every = max(1, steps.count / 24)
                try SVGHeatmap(title: "\(model): \(block) variable selection weight by step (mean over \(windows) windows)",
                               xLabel: "step relative to the forecast time (5 min)", yLabel: "variable",
                               values: imp.names.indices.map { i in imp.byStep.map { $0[i] } }, rowLabels: imp.names,
                               columnLabels: steps.enumerated().map { $0.offset % every == 0 ? label($0.element) : "" },
                               colorbarLabel: "VSN weight", cellWidth: max(3, min(36, 900 / Double(steps.count))), cellHeight: 16)
                    .write(to: path("importance_\(block)_by_step.svg"))
            }
            try SVGHeatmap(title: "\(model): \(block) variable importance (mean over \(subjects) subjects)",
                           xLabel: "", yLabel: "variable", values: imp.global.map { [$0] }, rowLabels: imp.names,
                           columnLabels: ["importance"], colorbarLabel: "VSN weight", annotate: true, cellWidth: 72, cellHeight: 18)
                .write(to: path("importance_\(block).svg"))
        }

        for map in attention {
            var csv = "query_step," + map.columnSteps.map(label).joined(separator: ",") + "\n"
            for (s, row) in zip(map.rowSteps, map.values) { csv += "\(label(s))," + row.map(number).joined(separator: ",") + "\n" }
            try EvaluationFiles.writeAtomically(csv, to: path("\(map.name).csv", in: attentionDir))
            // The last `window` steps, query × key (the paper's Figures 2C, 10, 11).
            let cols = map.columnSteps.count, keep = min(window, cols)
            let rowStart = max(0, map.rowSteps.count - keep), colStart = cols - keep
            let every = max(1, keep / 12)
            func labels(_ steps: ArraySlice<Int>) -> [String] {
                steps.enumerated().map { $0.offset % every == 0 ? label($0.element) : "" }
            }
            try SVGHeatmap(title: "\(map.title), last \(keep) steps (\(windows) windows)",
                           xLabel: "key step (past lag)", yLabel: "query step",
                           values: map.values[rowStart...].map { Array($0[colStart...]) },
                           rowLabels: labels(map.rowSteps[rowStart...]), columnLabels: labels(map.columnSteps[colStart...]),
                           colorbarLabel: "attention", cellWidth: max(4, 600 / Double(keep)), cellHeight: max(4, 600 / Double(keep)))
                .write(to: path("\(map.name).svg", in: attentionDir))
            // The decoder rows over every key step (the paper's Figure 2B: past influence on predictions).
            let decoderRows = map.rowSteps.indices.filter { map.rowSteps[$0] > 0 }
            if !decoderRows.isEmpty {
                let everyKey = max(1, cols / 24)
                try SVGHeatmap(title: "\(map.title): forecast steps over all lags",
                               xLabel: "key step relative to the forecast time", yLabel: "forecast step",
                               values: decoderRows.map { map.values[$0] }, rowLabels: decoderRows.map { label(map.rowSteps[$0]) },
                               columnLabels: map.columnSteps.enumerated().map { $0.offset % everyKey == 0 ? label($0.element) : "" },
                               colorbarLabel: "attention", cellWidth: max(3, min(36, 900 / Double(cols))), cellHeight: 16)
                    .write(to: path("\(map.name)_decoder.svg", in: attentionDir))
            }
        }

        var summary = "model \(model): \(windows) windows of \(subjects) subjects\n"
        for (block, imp, _) in blocks where !imp.names.isEmpty {
            let top = zip(imp.names, imp.global).sorted { $0.1 > $1.1 }.prefix(5)
            summary += "top \(block) variables: " + top.map { "\($0.0) \(String(format: "%.3f", $0.1))" }.joined(separator: ", ") + "\n"
        }
        summary += "attention maps: \(attention.map(\.name).joined(separator: ", "))\n"
        try EvaluationFiles.writeAtomically(summary, to: path("summary.txt"))
    }
}
