/// The matrix-multiplication kernels: batched products of contiguous or strided matrices, by a
/// blocked, packed, register-tiled GEMM (BLIS-style micro-kernels for Vector512 and Vector256)
/// for all but small products, and vectorized row updates or dot products for those.
module FunDiff.Backend.Gemm

#nowarn "9" // the GEMM kernels read and write pinned arrays through native pointers

open System
open System.Numerics.Tensors
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Microsoft.FSharp.NativeInterop
open FunDiff

// ---- small products: vectorized row updates or dot products -------------------------------

/// Output rows at least this long amortize a vectorized call's set-up cost whatever k is
/// (measured: below it, and when n ≤ k, one dot product per element is up to 3× faster).
[<Literal>]
let private LongRow = 128

/// Rows shorter than this are written element by element in an outer product (k = 1).
[<Literal>]
let private ShortOuterRow = 16

/// Row i of the output is Σ_p a[i,p] · (row p of b), as vectorized row updates.
let private multiplyRowUpdates
    (a: float[])
    (aOff: int)
    (b: float[])
    (bOff: int)
    (out: float[])
    (outOff: int)
    (m: int)
    (k: int)
    (n: int)
    =
    for i in 0 .. m - 1 do
        let rowOff = outOff + i * n
        let aRow = aOff + i * k
        let row = Span(out, rowOff, n)
        // the first term initializes the row, so it needs no clearing pass
        TensorPrimitives.Multiply(ReadOnlySpan(b, bOff, n), a.[aRow], row)

        for p in 1 .. k - 1 do
            TensorPrimitives.MultiplyAdd(
                ReadOnlySpan(b, bOff + p * n, n),
                a.[aRow + p],
                ReadOnlySpan(out, rowOff, n),
                row
            )

/// out[i, :] = Σ_p a[i, p] · b[p, :] for one (m×k)·(k×n) product with k ≥ 1: m·k vectorized
/// calls of length n. The i-p-j order streams rows of b and keeps the output row in cache.
let private multiplyByRows
    (a: float[])
    (aOff: int)
    (b: float[])
    (bOff: int)
    (out: float[])
    (outOff: int)
    (m: int)
    (k: int)
    (n: int)
    =
    if k = 1 && n < ShortOuterRow then
        // an outer product with short rows (a batched per-example gradient, e.g. 256 × 10): a
        // TensorPrimitives call per row of a few elements costs more than the row itself;
        // one multiply per element rounds exactly as the vector kernel does
        for i in 0 .. m - 1 do
            let ai = a.[aOff + i]
            let rowOff = outOff + i * n

            for j in 0 .. n - 1 do
                out.[rowOff + j] <- b.[bOff + j] * ai
    else
        multiplyRowUpdates a aOff b bOff out outOff m k n

/// The same product as m·n vectorized dot products of length k, of a row of a with a column of
/// b read from `columns` (b transposed, n×k, at `colOff`): better when rows are short.
let private multiplyByColumns
    (a: float[])
    (aOff: int)
    (columns: float[])
    (colOff: int)
    (out: float[])
    (outOff: int)
    (m: int)
    (k: int)
    (n: int)
    =
    for i in 0 .. m - 1 do
        let aRow = ReadOnlySpan(a, aOff + i * k, k)

        for j in 0 .. n - 1 do
            out.[outOff + i * n + j] <- TensorPrimitives.Dot(aRow, ReadOnlySpan(columns, colOff + j * k, k))

// ---- the blocked GEMM ------------------------------------------------------------------------
//
// The BLIS / GotoBLAS scheme: c = a·b is cut into blocks of NC columns and KC contracting
// indices; each KC×NC block of b is packed into panels of NR columns (row p of a panel is NR
// contiguous values: the micro-kernel's vector loads), each MC×KC block of a into panels of MR
// rows (column p of a panel is MR contiguous values: the micro-kernel's broadcasts). The
// micro-kernel keeps an MR×NR tile of c in registers for KC rank-1 updates. Sizes for a 32 KiB
// L1 and a ≥ 512 KiB L2: a packed b panel (KC·NR doubles, 16–32 KiB) is reused from L1 by
// all the row panels of a, the packed a block (MC·KC, 192 KiB) from L2 by all the b panels.
// Packing pads edge panels with zeros, so edge tiles are computed whole and only their valid
// part is written: every product a[i,p]·b[p,j] of the result is formed (0·NaN stays NaN).

/// The register-tiled micro-kernels of the blocked GEMM.
type GemmKernel =
    /// 8×16 tiles of `Vector512` (AVX-512): 16 accumulators of 8 doubles.
    | Vector512Tile8x16
    /// 6×8 tiles of `Vector256` with FMA (AVX2): 12 accumulators of 4 doubles.
    | Vector256Tile6x8

    /// The tile's rows (MR).
    member k.Rows =
        match k with
        | Vector512Tile8x16 -> 8
        | Vector256Tile6x8 -> 6

    /// The tile's columns (NR).
    member k.Columns =
        match k with
        | Vector512Tile8x16 -> 16
        | Vector256Tile6x8 -> 8

/// Every kernel (each runs anywhere: without hardware support .NET emulates its vectors, slowly).
let allKernels = [ Vector512Tile8x16; Vector256Tile6x8 ]

/// The kernel this machine runs in hardware, if any: Vector512 when accelerated, else Vector256
/// with FMA; none (the small-product paths do all the work) on other machines.
let hardwareKernel: GemmKernel voption =
    if Vector512.IsHardwareAccelerated then
        ValueSome Vector512Tile8x16
    elif Vector256.IsHardwareAccelerated && Fma.IsSupported then
        ValueSome Vector256Tile6x8
    else
        ValueNone

/// Contracting indices per block: a packed b panel of KC·NR doubles stays in L1.
[<Literal>]
let private KC = 256

/// Rows of a per block (a multiple of both MRs): the packed a block of MC·KC doubles stays in L2.
[<Literal>]
let private MC = 96

/// Columns of b per block (a multiple of both NRs); bounds the packed b block to 2 MiB.
[<Literal>]
let private NC = 1024

/// Per-thread packing space, pinned (stable addresses for the kernels) and kept between calls.
type private Scratch() =
    [<ThreadStatic; DefaultValue>]
    static val mutable private buffer: float[]

    /// A pinned buffer of at least `length` doubles (this thread's; valid until its next call).
    static member Get(length: int) =
        let b = Scratch.buffer

        if isNull b || b.Length < length then
            let b = GC.AllocateUninitializedArray<float>(length, true)
            Scratch.buffer <- b
            b
        else
            b

/// The first 64-byte boundary at or after `p` (a cache line: aligned vector loads never split).
let inline private align64 (p: nativeptr<float>) =
    NativePtr.ofNativeInt<float>((NativePtr.toNativeInt p + 63n) &&& ~~~63n)

/// Writes (`first`) or adds the valid h×w part of an edge tile (row stride `ldt`) into c.
let private addTile
    (tile: nativeptr<float>)
    (ldt: int)
    (h: int)
    (w: int)
    (c: nativeptr<float>)
    (ldc: int)
    (first: bool)
    =
    for r in 0 .. h - 1 do
        let src = NativePtr.add tile (r * ldt)
        let dst = NativePtr.add c (r * ldc)

        if first then
            for j in 0 .. w - 1 do
                NativePtr.set dst j (NativePtr.get src j)
        else
            for j in 0 .. w - 1 do
                NativePtr.set dst j (NativePtr.get dst j + NativePtr.get src j)

/// Packs the mc×kc block of a whose element (i, p) is at a + i·rs + p·cs into panels of mr
/// rows: panel t holds, for each p, a[t·mr + r, p] for r < mr contiguously; rows past mc are 0.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private packA (a: nativeptr<float>) (rs: int) (cs: int) (mc: int) (kc: int) (mr: int) (dst: nativeptr<float>) =
    let mutable ip = 0

    while ip < mc do
        let h = min mr (mc - ip)
        let panel = NativePtr.add dst (ip * kc)

        if cs = 1 then
            // rows are contiguous: read each row once
            for r in 0 .. h - 1 do
                let src = NativePtr.add a ((ip + r) * rs)

                for p in 0 .. kc - 1 do
                    NativePtr.set panel (p * mr + r) (NativePtr.get src p)
        else
            for p in 0 .. kc - 1 do
                let src = NativePtr.add a (ip * rs + p * cs)

                for r in 0 .. h - 1 do
                    NativePtr.set panel (p * mr + r) (NativePtr.get src (r * rs))

        for r in h .. mr - 1 do
            for p in 0 .. kc - 1 do
                NativePtr.set panel (p * mr + r) 0.0

        ip <- ip + mr

/// Packs the kc×nc block of b whose element (p, j) is at b + p·rs + j·cs into panels of nr
/// columns: panel t holds, for each p, b[p, t·nr + j] for j < nr contiguously; columns past nc
/// are 0. nr is a multiple of 4.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private packB (b: nativeptr<float>) (rs: int) (cs: int) (kc: int) (nc: int) (nr: int) (dst: nativeptr<float>) =
    let mutable jp = 0

    while jp < nc do
        let w = min nr (nc - jp)
        let panel = NativePtr.add dst (jp * kc)

        if cs = 1 && w = nr then
            for p in 0 .. kc - 1 do
                let src = NativePtr.add b (p * rs + jp)
                let d = NativePtr.add panel (p * nr)
                let mutable j = 0

                while j < nr do
                    Vector256.Store(Vector256.Load(NativePtr.add src j), NativePtr.add d j)
                    j <- j + 4
        elif cs = 1 then
            for p in 0 .. kc - 1 do
                let src = NativePtr.add b (p * rs + jp)
                let d = NativePtr.add panel (p * nr)

                for j in 0 .. w - 1 do
                    NativePtr.set d j (NativePtr.get src j)

                for j in w .. nr - 1 do
                    NativePtr.set d j 0.0
        else
            // columns are contiguous (or nothing is): read each column once
            for j in 0 .. w - 1 do
                let src = NativePtr.add b ((jp + j) * cs)

                for p in 0 .. kc - 1 do
                    NativePtr.set panel (p * nr + j) (NativePtr.get src (p * rs))

            for p in 0 .. kc - 1 do
                for j in w .. nr - 1 do
                    NativePtr.set panel (p * nr + j) 0.0

        jp <- jp + nr

/// The macro-kernel for Vector512 (AVX-512): 8×16 register tiles (16 accumulators of 8 doubles),
/// for every tile of an mc×nc block of c from the packed panels. See `macro6x8`.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private macro8x16
    (kc: int)
    (mc: int)
    (nc: int)
    (ap: nativeptr<float>)
    (bp: nativeptr<float>)
    (c: nativeptr<float>)
    (ldc: int)
    (first: bool)
    (tile: nativeptr<float>)
    =
    let mutable jr = 0

    while jr < nc do
        let w = min 16 (nc - jr)
        let mutable ir = 0

        while ir < mc do
            let h = min 8 (mc - ir)
            let full = h = 8 && w = 16
            // a full tile goes straight to c; an edge tile to `tile`, then its valid part to c
            let dst = if full then NativePtr.add c (ir * ldc + jr) else tile
            let ld = if full then ldc else 16
            let mutable c00 = Vector512<float>.Zero
            let mutable c01 = Vector512<float>.Zero
            let mutable c10 = Vector512<float>.Zero
            let mutable c11 = Vector512<float>.Zero
            let mutable c20 = Vector512<float>.Zero
            let mutable c21 = Vector512<float>.Zero
            let mutable c30 = Vector512<float>.Zero
            let mutable c31 = Vector512<float>.Zero
            let mutable c40 = Vector512<float>.Zero
            let mutable c41 = Vector512<float>.Zero
            let mutable c50 = Vector512<float>.Zero
            let mutable c51 = Vector512<float>.Zero
            let mutable c60 = Vector512<float>.Zero
            let mutable c61 = Vector512<float>.Zero
            let mutable c70 = Vector512<float>.Zero
            let mutable c71 = Vector512<float>.Zero
            let mutable a = NativePtr.add ap (ir * kc)
            let mutable b = NativePtr.add bp (jr * kc)

            for _ in 1..kc do
                let b0 = Vector512.Load(NativePtr.add b 0)
                let b1 = Vector512.Load(NativePtr.add b 8)
                let x = Vector512.Create(NativePtr.get a 0)
                c00 <- Vector512.FusedMultiplyAdd(x, b0, c00)
                c01 <- Vector512.FusedMultiplyAdd(x, b1, c01)
                let x = Vector512.Create(NativePtr.get a 1)
                c10 <- Vector512.FusedMultiplyAdd(x, b0, c10)
                c11 <- Vector512.FusedMultiplyAdd(x, b1, c11)
                let x = Vector512.Create(NativePtr.get a 2)
                c20 <- Vector512.FusedMultiplyAdd(x, b0, c20)
                c21 <- Vector512.FusedMultiplyAdd(x, b1, c21)
                let x = Vector512.Create(NativePtr.get a 3)
                c30 <- Vector512.FusedMultiplyAdd(x, b0, c30)
                c31 <- Vector512.FusedMultiplyAdd(x, b1, c31)
                let x = Vector512.Create(NativePtr.get a 4)
                c40 <- Vector512.FusedMultiplyAdd(x, b0, c40)
                c41 <- Vector512.FusedMultiplyAdd(x, b1, c41)
                let x = Vector512.Create(NativePtr.get a 5)
                c50 <- Vector512.FusedMultiplyAdd(x, b0, c50)
                c51 <- Vector512.FusedMultiplyAdd(x, b1, c51)
                let x = Vector512.Create(NativePtr.get a 6)
                c60 <- Vector512.FusedMultiplyAdd(x, b0, c60)
                c61 <- Vector512.FusedMultiplyAdd(x, b1, c61)
                let x = Vector512.Create(NativePtr.get a 7)
                c70 <- Vector512.FusedMultiplyAdd(x, b0, c70)
                c71 <- Vector512.FusedMultiplyAdd(x, b1, c71)
                a <- NativePtr.add a 8
                b <- NativePtr.add b 16

            if first || not full then
                Vector512.Store(c00, NativePtr.add dst (0 * ld + 0))
                Vector512.Store(c01, NativePtr.add dst (0 * ld + 8))
                Vector512.Store(c10, NativePtr.add dst (1 * ld + 0))
                Vector512.Store(c11, NativePtr.add dst (1 * ld + 8))
                Vector512.Store(c20, NativePtr.add dst (2 * ld + 0))
                Vector512.Store(c21, NativePtr.add dst (2 * ld + 8))
                Vector512.Store(c30, NativePtr.add dst (3 * ld + 0))
                Vector512.Store(c31, NativePtr.add dst (3 * ld + 8))
                Vector512.Store(c40, NativePtr.add dst (4 * ld + 0))
                Vector512.Store(c41, NativePtr.add dst (4 * ld + 8))
                Vector512.Store(c50, NativePtr.add dst (5 * ld + 0))
                Vector512.Store(c51, NativePtr.add dst (5 * ld + 8))
                Vector512.Store(c60, NativePtr.add dst (6 * ld + 0))
                Vector512.Store(c61, NativePtr.add dst (6 * ld + 8))
                Vector512.Store(c70, NativePtr.add dst (7 * ld + 0))
                Vector512.Store(c71, NativePtr.add dst (7 * ld + 8))
            else
                let p = NativePtr.add dst (0 * ld + 0)
                Vector512.Store(c00 + Vector512.Load p, p)
                let p = NativePtr.add dst (0 * ld + 8)
                Vector512.Store(c01 + Vector512.Load p, p)
                let p = NativePtr.add dst (1 * ld + 0)
                Vector512.Store(c10 + Vector512.Load p, p)
                let p = NativePtr.add dst (1 * ld + 8)
                Vector512.Store(c11 + Vector512.Load p, p)
                let p = NativePtr.add dst (2 * ld + 0)
                Vector512.Store(c20 + Vector512.Load p, p)
                let p = NativePtr.add dst (2 * ld + 8)
                Vector512.Store(c21 + Vector512.Load p, p)
                let p = NativePtr.add dst (3 * ld + 0)
                Vector512.Store(c30 + Vector512.Load p, p)
                let p = NativePtr.add dst (3 * ld + 8)
                Vector512.Store(c31 + Vector512.Load p, p)
                let p = NativePtr.add dst (4 * ld + 0)
                Vector512.Store(c40 + Vector512.Load p, p)
                let p = NativePtr.add dst (4 * ld + 8)
                Vector512.Store(c41 + Vector512.Load p, p)
                let p = NativePtr.add dst (5 * ld + 0)
                Vector512.Store(c50 + Vector512.Load p, p)
                let p = NativePtr.add dst (5 * ld + 8)
                Vector512.Store(c51 + Vector512.Load p, p)
                let p = NativePtr.add dst (6 * ld + 0)
                Vector512.Store(c60 + Vector512.Load p, p)
                let p = NativePtr.add dst (6 * ld + 8)
                Vector512.Store(c61 + Vector512.Load p, p)
                let p = NativePtr.add dst (7 * ld + 0)
                Vector512.Store(c70 + Vector512.Load p, p)
                let p = NativePtr.add dst (7 * ld + 8)
                Vector512.Store(c71 + Vector512.Load p, p)

            if not full then
                addTile tile 16 h w (NativePtr.add c (ir * ldc + jr)) ldc first

            ir <- ir + 8

        jr <- jr + 16

/// The macro-kernel for Vector256 (AVX2 + FMA): for each 8-column panel of packed b (kept in L1)
/// and each 6-row panel of packed a (streamed from L2), a 6×8 register tile of c (12 accumulators
/// of 4 doubles) takes kc rank-1 updates, one FusedMultiplyAdd per accumulator each, then is
/// stored (`first`: the first kc block) or added to c. Edge tiles are computed whole into `tile`
/// (the packed panels are zero-padded) and only their valid part reaches c. The tile loops live
/// in the same method as the inner loop so that on-stack replacement optimizes it during its
/// first call (F# drops AggressiveOptimization, see `gemmBlocked`).
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private macro6x8
    (kc: int)
    (mc: int)
    (nc: int)
    (ap: nativeptr<float>)
    (bp: nativeptr<float>)
    (c: nativeptr<float>)
    (ldc: int)
    (first: bool)
    (tile: nativeptr<float>)
    =
    let mutable jr = 0

    while jr < nc do
        let w = min 8 (nc - jr)
        let mutable ir = 0

        while ir < mc do
            let h = min 6 (mc - ir)
            let full = h = 6 && w = 8
            // a full tile goes straight to c; an edge tile to `tile`, then its valid part to c
            let dst = if full then NativePtr.add c (ir * ldc + jr) else tile
            let ld = if full then ldc else 8
            let mutable c00 = Vector256<float>.Zero
            let mutable c01 = Vector256<float>.Zero
            let mutable c10 = Vector256<float>.Zero
            let mutable c11 = Vector256<float>.Zero
            let mutable c20 = Vector256<float>.Zero
            let mutable c21 = Vector256<float>.Zero
            let mutable c30 = Vector256<float>.Zero
            let mutable c31 = Vector256<float>.Zero
            let mutable c40 = Vector256<float>.Zero
            let mutable c41 = Vector256<float>.Zero
            let mutable c50 = Vector256<float>.Zero
            let mutable c51 = Vector256<float>.Zero
            let mutable a = NativePtr.add ap (ir * kc)
            let mutable b = NativePtr.add bp (jr * kc)

            for _ in 1..kc do
                let b0 = Vector256.Load(NativePtr.add b 0)
                let b1 = Vector256.Load(NativePtr.add b 4)
                let x = Vector256.Create(NativePtr.get a 0)
                c00 <- Vector256.FusedMultiplyAdd(x, b0, c00)
                c01 <- Vector256.FusedMultiplyAdd(x, b1, c01)
                let x = Vector256.Create(NativePtr.get a 1)
                c10 <- Vector256.FusedMultiplyAdd(x, b0, c10)
                c11 <- Vector256.FusedMultiplyAdd(x, b1, c11)
                let x = Vector256.Create(NativePtr.get a 2)
                c20 <- Vector256.FusedMultiplyAdd(x, b0, c20)
                c21 <- Vector256.FusedMultiplyAdd(x, b1, c21)
                let x = Vector256.Create(NativePtr.get a 3)
                c30 <- Vector256.FusedMultiplyAdd(x, b0, c30)
                c31 <- Vector256.FusedMultiplyAdd(x, b1, c31)
                let x = Vector256.Create(NativePtr.get a 4)
                c40 <- Vector256.FusedMultiplyAdd(x, b0, c40)
                c41 <- Vector256.FusedMultiplyAdd(x, b1, c41)
                let x = Vector256.Create(NativePtr.get a 5)
                c50 <- Vector256.FusedMultiplyAdd(x, b0, c50)
                c51 <- Vector256.FusedMultiplyAdd(x, b1, c51)
                a <- NativePtr.add a 6
                b <- NativePtr.add b 8

            if first || not full then
                Vector256.Store(c00, NativePtr.add dst (0 * ld + 0))
                Vector256.Store(c01, NativePtr.add dst (0 * ld + 4))
                Vector256.Store(c10, NativePtr.add dst (1 * ld + 0))
                Vector256.Store(c11, NativePtr.add dst (1 * ld + 4))
                Vector256.Store(c20, NativePtr.add dst (2 * ld + 0))
                Vector256.Store(c21, NativePtr.add dst (2 * ld + 4))
                Vector256.Store(c30, NativePtr.add dst (3 * ld + 0))
                Vector256.Store(c31, NativePtr.add dst (3 * ld + 4))
                Vector256.Store(c40, NativePtr.add dst (4 * ld + 0))
                Vector256.Store(c41, NativePtr.add dst (4 * ld + 4))
                Vector256.Store(c50, NativePtr.add dst (5 * ld + 0))
                Vector256.Store(c51, NativePtr.add dst (5 * ld + 4))
            else
                let p = NativePtr.add dst (0 * ld + 0)
                Vector256.Store(c00 + Vector256.Load p, p)
                let p = NativePtr.add dst (0 * ld + 4)
                Vector256.Store(c01 + Vector256.Load p, p)
                let p = NativePtr.add dst (1 * ld + 0)
                Vector256.Store(c10 + Vector256.Load p, p)
                let p = NativePtr.add dst (1 * ld + 4)
                Vector256.Store(c11 + Vector256.Load p, p)
                let p = NativePtr.add dst (2 * ld + 0)
                Vector256.Store(c20 + Vector256.Load p, p)
                let p = NativePtr.add dst (2 * ld + 4)
                Vector256.Store(c21 + Vector256.Load p, p)
                let p = NativePtr.add dst (3 * ld + 0)
                Vector256.Store(c30 + Vector256.Load p, p)
                let p = NativePtr.add dst (3 * ld + 4)
                Vector256.Store(c31 + Vector256.Load p, p)
                let p = NativePtr.add dst (4 * ld + 0)
                Vector256.Store(c40 + Vector256.Load p, p)
                let p = NativePtr.add dst (4 * ld + 4)
                Vector256.Store(c41 + Vector256.Load p, p)
                let p = NativePtr.add dst (5 * ld + 0)
                Vector256.Store(c50 + Vector256.Load p, p)
                let p = NativePtr.add dst (5 * ld + 4)
                Vector256.Store(c51 + Vector256.Load p, p)

            if not full then
                addTile tile 8 h w (NativePtr.add c (ir * ldc + jr)) ldc first

            ir <- ir + 6

        jr <- jr + 8


let inline private roundUp (x: int) (r: int) = (x + r - 1) / r * r

/// c = a·b for `batch` pairs of m×k and k×n matrices, m, k, n ≥ 1: element (s, i, p) of a is
/// a[aOff + s·aBatch + i·aRow + p·aCol] (any strides: transposed operands need no copy), b
/// likewise, and c is batch×m×n, contiguous, every element written.
///
/// The hot methods carry AggressiveOptimization, but the F# compiler of SDK 10.0.401 does not
/// emit that flag (MethodImplAttributes shows IL only; NoInlining does get through): they start
/// in tier 0 like any method. Each macro-kernel call runs its inner loop far more than the
/// 1000 iterations after which on-stack replacement compiles an optimized version, so the
/// first products run at ~30 GFLOP/s instead of ~3 (tier 0) until tier 1 takes over (~45–50
/// on AVX-512). An application that wants full speed from the first call can set
/// `<TieredCompilationQuickJitForLoops>false</TieredCompilationQuickJitForLoops>` (methods
/// with loops are then compiled optimized at once: 52 GFLOP/s at n = 256 from the first
/// calls, measured).
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let internal gemmStrided
    (kernel: GemmKernel)
    (batch: int)
    (m: int)
    (k: int)
    (n: int)
    (a: float[])
    (aOff: int)
    (aBatch: int)
    (aRow: int)
    (aCol: int)
    (b: float[])
    (bOff: int)
    (bBatch: int)
    (bRow: int)
    (bCol: int)
    (c: float[])
    =
    let mr, nr = kernel.Rows, kernel.Columns
    let kcMax = min KC k
    let sizeA = roundUp (min MC m) mr * kcMax
    let sizeB = roundUp (min NC n) nr * kcMax
    // 8 spare doubles per part for 64-byte alignment
    let scratch = Scratch.Get(sizeA + sizeB + mr * nr + 24)
    use pa = fixed a
    use pb = fixed b
    use pc = fixed c
    use ps = fixed scratch
    let packedA = align64 ps
    let packedB = align64 (NativePtr.add packedA sizeA)
    let tile = align64 (NativePtr.add packedB sizeB)

    for s in 0 .. batch - 1 do
        let a0 = NativePtr.add pa (aOff + s * aBatch)
        let b0 = NativePtr.add pb (bOff + s * bBatch)
        let c0 = NativePtr.add pc (s * m * n)
        let mutable jc = 0

        while jc < n do
            let nc = min NC (n - jc)
            let mutable pc0 = 0

            while pc0 < k do
                let kc = min KC (k - pc0)
                let first = pc0 = 0
                packB (NativePtr.add b0 (pc0 * bRow + jc * bCol)) bRow bCol kc nc nr packedB
                let mutable ic = 0

                while ic < m do
                    let mc = min MC (m - ic)
                    packA (NativePtr.add a0 (ic * aRow + pc0 * aCol)) aRow aCol mc kc mr packedA
                    let cBlock = NativePtr.add c0 (ic * n + jc)

                    match kernel with
                    | Vector512Tile8x16 -> macro8x16 kc mc nc packedA packedB cBlock n first tile
                    | Vector256Tile6x8 -> macro6x8 kc mc nc packedA packedB cBlock n first tile

                    ic <- ic + MC

                pc0 <- pc0 + KC

            jc <- jc + NC

/// Whether the blocked GEMM beats the small-product paths for an m×k by k×n product. Measured
/// over m, k, n in 1…256 (AVX-512, 8×16 tiles): the GEMM wins almost everywhere except where
/// its tiles are mostly padding and the small paths stream an operand once — a few columns
/// (n < 6: dot products), a contraction of 1 or 2 (k < 3), or a few long rows (m below half a
/// tile with n ≥ 128: row updates); for a single row (m = 1) packing still beats transposing b
/// for the dot products when 16 ≤ n < 128 and k ≥ 16.
let internal gemmPays (kernel: GemmKernel) (m: int) (k: int) (n: int) =
    k >= 3
    && n >= 6
    && (if m = 1 then n >= 16 && n < LongRow && k >= 16
        elif m < kernel.Rows / 2 then n < LongRow
        else true)

/// The small-product paths (any shape with m, n, k ≥ 1; contiguous operands from `aOff` in `a`
/// and `bOff` in `b`).
let private multiplySmall
    (batch: int)
    (m: int)
    (k: int)
    (n: int)
    (a: float[])
    (aOff: int)
    (b: float[])
    (bOff: int)
    (out: float[])
    =
    if n >= LongRow || n > k then
        for s in 0 .. batch - 1 do
            multiplyByRows a (aOff + s * m * k) b (bOff + s * k * n) out (s * m * n) m k n
    elif n = 1 then
        // a k×1 matrix is its own transpose
        for s in 0 .. batch - 1 do
            multiplyByColumns a (aOff + s * m * k) b (bOff + s * k) out (s * m) m k 1
    else
        let columns = NDArray.alloc (k * n)

        for s in 0 .. batch - 1 do
            let bOff = bOff + s * k * n

            for p in 0 .. k - 1 do
                for j in 0 .. n - 1 do
                    columns.[j * k + p] <- b.[bOff + p * n + j]

            multiplyByColumns a (aOff + s * m * k) columns 0 out (s * m * n) m k n

let private checkLengths (name: string) (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) =
    if a.Length <> batch * m * k || b.Length <> batch * k * n then
        invalidArg
            "a"
            (sprintf
                "%s: %d and %d values do not hold %d×%d×%d and %d×%d×%d matrices"
                name
                a.Length
                b.Length
                batch
                m
                k
                batch
                k
                n)

/// `matmulBatchedInto` with the operands' values from `aOff` in `a` and `bOff` in `b` (an
/// NDArray view's window; the caller checked the lengths).
let internal matmulBatchedAt
    (batch: int)
    (m: int)
    (k: int)
    (n: int)
    (a: float[])
    (aOff: int)
    (b: float[])
    (bOff: int)
    (out: float[])
    : unit =
    if k = 0 then
        Array.Clear out
    elif m > 0 && n > 0 then
        match hardwareKernel with
        | ValueSome kernel when gemmPays kernel m k n ->
            gemmStrided kernel batch m k n a aOff (m * k) k 1 b bOff (k * n) n 1 out
        | _ -> multiplySmall batch m k n a aOff b bOff out

/// Multiplies `batch` pairs of row-major matrices into the caller's `out`, as BLAS's dgemm
/// writes into C (no allocation): `a` is batch×m×k, `b` is batch×k×n, `out` batch×m×n (every
/// value overwritten; zeros when k = 0); raises ArgumentException when a length disagrees.
/// Large products run the blocked GEMM of this machine's kernel, small ones vectorized row
/// updates or dot products.
let matmulBatchedInto (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) (out: float[]) : unit =
    checkLengths "matmulBatchedInto" batch m k n a b

    if out.Length <> batch * m * n then
        invalidArg "out" (sprintf "matmulBatchedInto: %d values do not hold the %d×%d×%d result" out.Length batch m n)

    matmulBatchedAt batch m k n a 0 b 0 out

/// `matmulBatchedInto` a fresh array (the caller's: the pool never takes it back).
let matmulBatched (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) : float[] =
    checkLengths "matmulBatched" batch m k n a b
    let out = NDArray.alloc (batch * m * n)
    matmulBatchedInto batch m k n a b out
    out

/// `matmulBatched` forced through the blocked GEMM with the given kernel, whatever the shape
/// and the hardware (tests and benchmarks; without hardware support the kernel is emulated).
let matmulBatchedWith (kernel: GemmKernel) (batch: int) (m: int) (k: int) (n: int) (a: float[]) (b: float[]) =
    checkLengths "matmulBatchedWith" batch m k n a b
    let out = NDArray.alloc (batch * m * n)

    if k = 0 then
        Array.Clear out
    elif batch > 0 && m > 0 && n > 0 then
        gemmStrided kernel batch m k n a 0 (m * k) k 1 b 0 (k * n) n 1 out

    out
