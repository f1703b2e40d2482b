@testable import Charts
@testable import Evaluation
import Foundation
import FoundationXML
import XCTest
#if canImport(FoundationXML)
#endif
@testable import Training

/// Parses SVG text with Foundation's XMLParser and counts elements (by name, and by name + class).
final class SVGInspector: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var classCounts: [String: Int] = [:]
    var texts: [String] = []
    private var inText = false

    static func parse(_ svg: String) throws -> SVGInspector {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = inspector
        guard parser.parse() else {
            throw EvaluationError("SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        }
        return inspector
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        if let c = attributes["class"] { classCounts["\(name).\(c)", default: 0] += 1 }
        if name == "text" {
            inText = true
            texts.append("")
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { texts[texts.count - 1] += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { inText = false }
    }
}

final class SVGTests: XCTestCase {
    func testLineChartIsWellFormedWithOnePathPerSeries() throws {
        let chart = SVGLineChart(
            title: "RMSE <by> horizon & \"models\"", xLabel: "minutes ahead", yLabel: "RMSE (mg/dL)",
            series: [
                SVGSeries(name: "model", x: [5, 10, 15, 20], y: [10, 14, 19, 22]),
                SVGSeries(name: "naive", x: [5, 10, 15, 20], y: [12, .nan, 25, 30], dashed: true),
                SVGSeries(name: "a & b", x: [5, 10, 15, 20], y: [-3, 1, 2, 4]),
            ], zeroLine: true)
        let svg = try SVGInspector.parse(chart.render())
        XCTAssertEqual(svg.counts["svg"], 1)
        XCTAssertEqual(svg.counts["path"], 3)
        XCTAssertEqual(svg.classCounts["path.series"], 3)
        XCTAssertNil(svg.counts["polyline"])
        XCTAssertEqual(svg.classCounts["line.legend"], 3)
        XCTAssertTrue(svg.texts.contains("RMSE <by> horizon & \"models\""))
        XCTAssertTrue(svg.texts.contains("a & b"))
        XCTAssertEqual(svg.classCounts["line.zero"], 1)
        // The NaN splits the naive line into two sub-paths.
        let naivePath = try XCTUnwrap(chart.document().elements.first { $0.contains("<title>naive</title>") })
        XCTAssertEqual(naivePath.components(separatedBy: "M").count - 1, 2)
    }

    func testLearningCurveWithLogAxis() throws {
        let train = (1...200).map { (x: Double($0), loss: 2.0 / Double($0)) }
        let validation = [(x: 50.0, loss: 0.05), (x: 100, loss: 0.03), (x: 150, loss: 0), (x: 200, loss: 0.02)]
        let chart = SVGLineChart.learningCurve(train: train, validation: validation, logY: true)
        let svg = try SVGInspector.parse(chart.render())
        XCTAssertEqual(svg.classCounts["path.series"], 2)
        XCTAssertEqual(svg.classCounts["circle.marker"], 3)       // the zero loss is not drawable on log-y
        XCTAssertTrue(svg.texts.contains("0.01"))
        XCTAssertTrue(svg.texts.contains("1"))
        XCTAssertTrue(svg.texts.contains("validation"))
        // An empty chart is still a valid document.
        XCTAssertNoThrow(try SVGInspector.parse(SVGLineChart.learningCurve(train: [], validation: []).render()))
    }

    func testNiceTicks() {
        let a = SVGTicks.linear(0, 97)
        XCTAssertEqual(a.step, 20)
        XCTAssertEqual(a.ticks, [0, 20, 40, 60, 80, 100])
        let b = SVGTicks.linear(-12.5, 3.2, count: 5)
        XCTAssertEqual(b.step, 5)
        XCTAssertEqual(b.ticks, [-15, -10, -5, 0, 5])
        let l = SVGTicks.logarithmic(0.03, 0.4)
        XCTAssertEqual(l.lower, 0.02, accuracy: 1e-15)
        XCTAssertEqual(l.upper, 0.5, accuracy: 1e-15)
        XCTAssertEqual(l.ticks.count, 5)             // 0.02, 0.05, 0.1, 0.2, 0.5
        XCTAssertEqual(SVGTicks.logarithmic(0.2, 0.2).ticks.first ?? 0, 0.2, accuracy: 1e-15)
        let decades = SVGTicks.logarithmic(1e-3, 50).ticks
        XCTAssertEqual(decades.count, 6)
        for (t, e) in zip(decades, [1e-3, 1e-2, 1e-1, 1, 10, 100]) { XCTAssertEqual(t, e, accuracy: e * 1e-12) }
        XCTAssertEqual(SVGTicks.label(0.5, step: 0.1), "0.5")
        XCTAssertEqual(SVGTicks.label(40, step: 20), "40")
        XCTAssertEqual(SVGTicks.label(1e-5), "1e-5")
        XCTAssertEqual(SVGTicks.label(-0.00978, step: 0.02), "-0.01")
        XCTAssertEqual(SVGDocument.number(12.499), "12.5")
        XCTAssertEqual(SVGDocument.number(-0.001), "0")
    }

    func testHeatmapCellsLabelsAndColorbar() throws {
        let values: [[Double]] = [[0.1, 0.5, 0.9], [1.2, .nan, -0.3]]
        let map = SVGHeatmap(title: "Detection F1", xLabel: "window (min)", yLabel: "threshold",
                             values: values, rowLabels: ["0.5", "0.7"], columnLabels: ["30", "60", "90"],
                             colorbarLabel: "F1", annotate: true)
        let svg = try SVGInspector.parse(map.render())
        XCTAssertEqual(svg.classCounts["rect.cell"], 6)
        XCTAssertEqual(svg.counts["linearGradient"], 1)
        XCTAssertEqual(svg.classCounts["rect.colorbar"], 1)
        XCTAssertTrue(svg.texts.contains("threshold"))
        XCTAssertTrue(svg.texts.contains("60"))
        XCTAssertTrue(map.render().contains(SVGPalette.missing))
        XCTAssertEqual(map.effectiveRange, -0.3...1.2)
        let diverging = SVGHeatmap(title: "ME", xLabel: "", yLabel: "", values: values, rowLabels: ["a", "b"],
                                   columnLabels: ["x", "y", "z"], colorMap: .diverging)
        XCTAssertEqual(diverging.effectiveRange, -1.2...1.2)
        XCTAssertNoThrow(try SVGInspector.parse(diverging.render()))
        XCTAssertEqual(SVGPalette.viridis(0), "#440154")
        XCTAssertEqual(SVGPalette.viridis(1), "#fde725")
        XCTAssertEqual(SVGPalette.diverging(0.5), "#f7f7f7")
    }

    func testWriteIsAtomicAndNamesTheFileOnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/curve.svg"
        let chart = SVGLineChart.learningCurve(train: [(1, 1), (2, 0.5)], validation: [])
        try chart.write(to: path)
        try chart.write(to: path)   // overwrite
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), chart.render())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["curve.svg"])
        XCTAssertThrowsError(try chart.write(to: dir + "/missing/curve.svg")) { error in
            XCTAssertTrue("\(error)".contains("missing/curve.svg"), "\(error)")
        }
    }
}
