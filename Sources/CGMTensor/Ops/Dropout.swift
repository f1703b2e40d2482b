// Inverted dropout (Srivastava et al. 2014): y = x ⊙ m / (1 − p), m_i ~ Bernoulli(1 − p).
//   x: (B, ...) batch-first → y: (B, ...)
// The mask is keyed, not drawn from a running generator: element e of batch row b at the k-th random
// call site of a forward pass keeps iff u ≥ round(65536·p), with u the 16-bit half (e mod 8) of
// Philox block (e / 8, globalSampleIndex(b), step, k) under the run's seed (`RandomContext.block`).
// A sample's mask therefore depends only on (seed, step, global sample index, call site), so it is the
// same however a batch is split across MPI ranks. Backward: dx = dy ⊙ m / (1 − p), with the stored mask.

extension Graph {
    /// Inverted dropout with drop probability `p` (0 ≤ p ≤ 1) along a batch-first tensor.
    ///
    /// Identity when the graph is not training or `p == 0`. In training, every call takes the next
    /// call-site number from `random.callCounter` (even when `p == 0`, so that the streams of later call
    /// sites do not depend on whether an earlier one drops), and the keep mask of row `b` is drawn from
    /// `random.block(call:sample:elementBlock:)` with eight 16-bit draws per Philox block.
    public func dropout(_ x: Var, p: Float) -> Var {
        guard let (maskBox, scale) = dropoutMask(shape: x.shape, p: p) else { return x }
        let out = Tensor(uninitialized: x.shape)
        let xp = x.value.pointer, yp = out.sharedMutablePointer, mask = maskBox.bytes
        for i in 0..<mask.count { yp[i] = mask[i] != 0 ? xp[i] * scale : 0 }
        return record(out, inputs: [x], rule: DropoutBackward(x: x, mask: maskBox, scale: scale))
    }

    /// The keep mask and scale 1/(1 − p) that `dropout(x, p:)` would use for an x of `shape` at this point
    /// of the forward pass, or nil where dropout is the identity (not training, or `p == 0`). Takes a
    /// call-site number exactly as `dropout` does, so fused ops that drop an intermediate tensor
    /// (`narrowGRN`) draw the same bits as the unfused composition.
    public func dropoutMask(shape sx: [Int], p: Float) -> (mask: DropoutMask, scale: Float)? {
        precondition(p >= 0 && p <= 1, "dropout: probability \(p) outside [0, 1] for input \(sx)")
        guard isTraining else { return nil }
        let call = random.callCounter
        random.callCounter &+= 1
        guard p > 0 else { return nil }
        precondition(sx.count >= 1, "dropout: input \(sx) needs a batch axis")
        let batch = sx[0], count = Shape.count(sx)
        if let indices = random.sampleIndices {
            precondition(indices.count == batch,
                         "dropout: random.sampleIndices has \(indices.count) entries for input \(sx)")
        }
        let rowSize = batch == 0 ? 0 : count / batch
        let maskBox = DropoutMask(count: count), mask = maskBox.bytes.baseAddress!
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        // Keep iff a 16-bit draw u ≥ round(p · 65536): P(drop) = p to within 1/65536.
        let threshold = UInt32((Double(p) * 65536).rounded())
        let ctx = random
        for b in 0..<batch {
            let sample = ctx.sampleIndices?[b] ?? b
            let base = b * rowSize
            var e = 0, blockIndex = 0
            while e < rowSize {
                let block = ctx.block(call: call, sample: sample, elementBlock: blockIndex)
                let lanes = min(8, rowSize - e)
                for lane in 0..<lanes {
                    let word: UInt32
                    switch lane >> 1 {
                    case 0: word = block.0
                    case 1: word = block.1
                    case 2: word = block.2
                    default: word = block.3
                    }
                    let u = lane & 1 == 0 ? word & 0xFFFF : word >> 16
                    mask[base + e + lane] = u >= threshold ? 1 : 0
                }
                e += 8
                blockIndex += 1
            }
        }
        return (maskBox, scale)
    }
}

/// The keep mask of one dropout call (one byte per element), freed with the tape.
public final class DropoutMask {
    /// 1 = keep, 0 = drop, one byte per element.
    public let bytes: UnsafeMutableBufferPointer<UInt8>
    init(count: Int) {
        bytes = .allocate(capacity: count)
        bytes.initialize(repeating: 0)
    }
    deinit { bytes.deallocate() }
}

struct DropoutBackward: BackwardRule {
    let x: Var
    let mask: DropoutMask
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let dx = g.gradBuffer(x), dy = dY.pointer, m = mask.bytes
        for i in 0..<m.count where m[i] != 0 { dx[i] += dy[i] * scale }
    }
}
