// The field delimiter of a device export: the character (comma, semicolon or tab) that splits its header
// line into the most fields. European CareLink and Clarity exports use semicolons (and decimal commas).

import Foundation

enum Delimiter {
    static let comma = UInt8(ascii: ","), semicolon = UInt8(ascii: ";"), tab = UInt8(ascii: "\t")

    /// The delimiter of the line in `head` that contains `marker` (or of the first line), outside quotes.
    static func sniff(_ head: String, marker: String? = nil) -> UInt8 {
        let lines = FormatDetection.lines(head, 40)
        let line = marker.flatMap { m in lines.first { $0.contains(m) } } ?? lines.first ?? ""
        var counts: [UInt8: Int] = [comma: 0, semicolon: 0, tab: 0]
        var quoted = false
        for b in line.utf8 {
            if b == 0x22 { quoted.toggle() }
            if !quoted, counts[b] != nil { counts[b]! += 1 }
        }
        let best = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }!
        return best.value > 0 ? best.key : comma
    }
}
