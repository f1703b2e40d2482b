// How the resampler fills a glucose gap no longer than `data.max_interpolation_gap_minutes` (both
// methods obey that limit; a longer gap leaves NaN and splits the series). Recorded in `FeatureSpec`, so
// inference resamples as `prepare` did.
//
//   interpolate  g(T) = g_a + (g_b − g_a)·(T − t_a)/(t_b − t_a)  between the readings a ≤ T < b   (ours, default)
//   locf         g(T) = g_a, the last reading at or before T                                        (SSM-CGM §2:
//                "Missing values were imputed via Last Observation Carried Forward"; the paper states no limit)

/// The method filling short glucose gaps on the 5-minute grid (`data.gap_fill`).
public enum GapFill: String, Codable, Sendable, CaseIterable {
    /// Linear interpolation between the readings around the gap (PhysioSeq2Seq App. C rule 4's wording).
    case interpolate
    /// Last observation carried forward (SSM-CGM §2).
    case locf
}
