// Decision times for inference (`cgmtrain forecast --at`) and the ISO 8601 text of grid times.
//
// A requested time is floored to the 5-minute grid (multiples of 300 s since the Unix epoch, the grid
// `Resampler` uses), so "--at 2026-01-06T10:03:00Z" asks for the window whose last history point is
// 10:00 — nothing recorded after the requested instant enters the history.

import Physiology

/// Which decision time a forecast window ends at.
public enum DecisionTimeRequest: Equatable, Sendable {
    /// Per subject, the latest grid time with a complete history (L consecutive points with glucose).
    case latest
    /// The grid time at or before this instant (Unix seconds).
    case at(Int64)

    /// Parses ISO 8601 (with or without a zone; zone-less text is UTC) or Unix seconds.
    /// - Throws: `DataError` naming `option` with the accepted forms.
    public static func parse(_ text: String, option: String = "--at") throws -> DecisionTimeRequest {
        guard let t = TimestampParser.parse(text) else {
            throw DataError("\(option): " + TimestampParser.explain(text))
        }
        return .at(t.seconds)
    }
}

/// Grid arithmetic and display of instants.
public enum GridTime {
    /// `seconds` floored to the 5-minute grid.
    public static func floor(_ seconds: Int64) -> Int64 {
        let step = ResampledSubject.gridSeconds
        let r = seconds % step
        return seconds - (r < 0 ? r + step : r)
    }

    /// ISO 8601 UTC text of Unix seconds, e.g. "2026-01-06T10:00:00Z".
    public static func iso8601(_ seconds: Int64) -> String { Physiology.Timestamp.iso8601(seconds) }
}
