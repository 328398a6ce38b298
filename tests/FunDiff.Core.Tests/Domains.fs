/// Where each built-in primitive can be checked numerically: how to draw valid operands and
/// params at random (shapes up to rank 3, values inside the primitive's smooth domain). The
/// property tests iterate over the rules table and take each primitive's domain from here, so
/// a new primitive is checked by every law as soon as it has a table entry and a domain.
/// Test support: it lives with the tests (it reads the library's internals through
/// InternalsVisibleTo), not in the shipped library.
module FunDiff.Tests.Domains

open System
open FunDiff
open FunDiff.Backend
open FunDiff.Primitives

/// How to draw applications of a primitive.
type Domain =
    {
        /// Draws operands and params of one valid application.
        Sample: Random -> Tensor[] * Params
        /// The primitive's derivative is zero by definition (stop_gradient, comparisons), so
        /// finite differences do not apply; the laws check that it is zero instead.
        ZeroDerivative: bool
    }

/// A random shape of rank 0..maxRank with dimensions 1..3.
let randomShape (r: Random) (maxRank: int) =
    Array.init (r.Next(0, maxRank + 1)) (fun _ -> r.Next(1, 4))

/// Uniform values in [lo, hi) of a shape.
let uniform (r: Random) (lo: float) (hi: float) (shape: int[]) =
    Prim.ofArray (
        NDArray.ofData shape Float64 (Array.init (Shape.size shape) (fun _ -> lo + (hi - lo) * r.NextDouble()))
    )

/// Values whose magnitude is in [lo, hi) with random signs (away from zero).
let signedAway (r: Random) (lo: float) (hi: float) (shape: int[]) =
    Prim.ofArray (
        NDArray.ofData
            shape
            Float64
            (Array.init (Shape.size shape) (fun _ ->
                (if r.Next 2 = 0 then -1.0 else 1.0) * (lo + (hi - lo) * r.NextDouble())))
    )

let private smooth sample =
    {
        Sample = sample
        ZeroDerivative = false
    }

/// A unary elementwise primitive on values drawn by `values`.
let unaryOn (values: Random -> int[] -> Tensor) =
    smooth (fun r -> [| values r (randomShape r 3) |], Params.Empty)

/// A binary elementwise primitive; one operand in four is a rank-0 scalar (the kernels'
/// scalar broadcasting path).
let binaryOn (left: Random -> int[] -> Tensor) (right: Random -> int[] -> Tensor) =
    smooth (fun r ->
        let shape = randomShape r 3
        let scalarLeft, scalarRight = r.Next 8 = 0, r.Next 8 = 1

        [|
            left r (if scalarLeft then [||] else shape)
            right r (if scalarRight then [||] else shape)
        |],
        Params.Empty)

let private reals r shape = uniform r -2.0 2.0 shape
let private positive r shape = uniform r 0.5 3.0 shape

let private comparison =
    { binaryOn reals reals with
        ZeroDerivative = true
    }

let private powConst =
    smooth (fun r ->
        let c = [| 2.0; 3.0; -1.0; 0.5; 1.5; 2.5; -2.0 |].[r.Next 7]
        let values = if c = 2.0 || c = 3.0 then reals else positive
        [| values r (randomShape r 3) |], Params [| "y", Float c |])

let private select =
    smooth (fun r ->
        let shape = randomShape r 3

        let mask =
            Prim.ofArray (NDArray.ofData shape Bool (Array.init (Shape.size shape) (fun _ -> float (r.Next 2))))

        [| mask; reals r shape; reals r shape |], Params.Empty)

let private reduceSum =
    smooth (fun r ->
        let shape = randomShape r 3

        let axes =
            [|
                for k in 0 .. shape.Length - 1 do
                    if r.Next 2 = 0 then
                        k
            |]

        [| reals r shape |], Params [| "axes", Ints axes |])

let private broadcastInDim =
    smooth (fun r ->
        let operand = randomShape r 2
        let extra = r.Next(0, 3)
        let rank = operand.Length + extra
        // choose increasing output positions for the operand's axes
        let dims =
            Array.init rank id
            |> Array.sortBy (fun _ -> r.Next())
            |> Array.take operand.Length
            |> Array.sort

        let shape = Array.init rank (fun _ -> r.Next(1, 4))
        // stretch some operand axes from size 1
        let operand =
            operand |> Array.mapi (fun k d -> if r.Next 3 = 0 then 1 else shape.[dims.[k]])

        [| reals r operand |], Params [| "shape", Ints shape; "broadcast_dimensions", Ints dims |])

let private reshape =
    smooth (fun r ->
        let shape = randomShape r 3
        let target = shape |> Array.sortBy (fun _ -> r.Next())
        let target = if r.Next 2 = 0 then target else [| Shape.size shape |]
        [| reals r shape |], Params [| "new_sizes", Ints target |])

let private transpose =
    smooth (fun r ->
        let shape = randomShape r 3
        let perm = Array.init shape.Length id |> Array.sortBy (fun _ -> r.Next())
        [| reals r shape |], Params [| "permutation", Ints perm |])

let private slice =
    smooth (fun r ->
        let shape = randomShape r 3
        let start = shape |> Array.map (fun d -> r.Next(0, d))
        let limit = Array.map2 (fun s d -> r.Next(s + 1, d + 1)) start shape
        [| reals r shape |], Params [| "start_indices", Ints start; "limit_indices", Ints limit |])

let private pad =
    smooth (fun r ->
        let shape = randomShape r 3

        [| reals r shape |],
        Params
            [|
                "low", Ints(shape |> Array.map (fun _ -> r.Next 3))
                "high", Ints(shape |> Array.map (fun _ -> r.Next 3))
            |])

let private concatenate =
    smooth (fun r ->
        let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))
        let axis = r.Next shape.Length

        let parts =
            Array.init (r.Next(2, 4)) (fun _ -> reals r (Array.updateAt axis (r.Next(1, 4)) shape))

        parts, Params [| "dimension", Int axis |])

let private convert =
    smooth (fun r -> [| reals r (randomShape r 3) |], Params [| "new_dtype", DType Float64 |])

/// Values of a shape that are pairwise at least 0.1 apart (no ties), in random order.
let distinct (r: Random) (shape: int[]) =
    let n = Shape.size shape

    let values =
        Array.init n (fun i -> (float i - float n / 2.0) * 0.37 + 0.1 * r.NextDouble())

    Prim.ofArray (NDArray.ofData shape Float64 (values |> Array.sortBy (fun _ -> r.Next())))

/// Random int64 indices into an axis of size n (negative ones wrap, as in NumPy).
let indices (r: Random) (n: int) (shape: int[]) =
    Prim.ofArray (NDArray.ofData shape Int64 (Array.init (Shape.size shape) (fun _ -> float (r.Next(-n, n)))))

// max/min: the second operand differs from the first by at least 0.2 everywhere (no ties)
let private extremum =
    smooth (fun r ->
        let shape = randomShape r 3
        let x = reals r shape
        let gap = signedAway r 0.2 1.0 shape

        [|
            x
            Prim.ofArray (NDArray.ofData shape Float64 (Array.map2 (+) (x.ToArray()) (gap.ToArray())))
        |],
        Params.Empty)

let private pow =
    smooth (fun r ->
        let shape = randomShape r 3

        [|
            uniform r 0.5 2.0 shape
            uniform r -2.0 2.0 (if r.Next 4 = 0 then [||] else shape)
        |],
        Params.Empty)

// clamp: x away from the bounds -1 and 1 (scalar or per element), so every region is smooth
let private clamp =
    smooth (fun r ->
        let shape = randomShape r 3

        let pick () =
            [| -1.6; 0.0; 1.6 |].[r.Next 3] + 0.3 * (2.0 * r.NextDouble() - 1.0)

        let x =
            Prim.ofArray (NDArray.ofData shape Float64 (Array.init (Shape.size shape) (fun _ -> pick ())))

        let bound (v: float) =
            if r.Next 2 = 0 then
                Prim.scalar v
            else
                uniform r (v - 0.05) (v + 0.05) shape

        [| bound -1.0; x; bound 1.0 |], Params.Empty)

let private reduceWith (values: Random -> int[] -> Tensor) =
    smooth (fun r ->
        let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))

        let axes =
            [|
                for k in 0 .. shape.Length - 1 do
                    if r.Next 2 = 0 then
                        k
            |]

        let axes = if axes.Length = 0 then [| 0 |] else axes
        [| values r shape |], Params [| "axes", Ints axes |])

// products: some exact zeros, where Π_{j≠i} x_j matters most
let private withZeros (r: Random) (shape: int[]) =
    let v = (uniform r -1.5 1.5 shape).ToArray()

    if r.Next 3 = 0 then
        v.[r.Next v.Length] <- 0.0

    Prim.ofArray (NDArray.ofData shape Float64 v)

let private argExtreme =
    { smooth (fun r ->
          let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))
          [| distinct r shape |], Params [| "axis", Int(r.Next shape.Length) |]) with
        ZeroDerivative = true
    }

let private cumsum =
    smooth (fun r ->
        let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))
        [| reals r shape |], Params [| "axis", Int(r.Next shape.Length); "reverse", Int(r.Next 2) |])

/// argsort: distinct values (the order is then unique, and the tangent is zero anyway).
let private argsort =
    { smooth (fun r ->
          let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))
          [| distinct r shape |], Params [| "axis", Int(r.Next shape.Length); "descending", Int(r.Next 2) |]) with
        ZeroDerivative = true
    }

/// searchsorted: a sorted vector of distinct values and queries away from them.
let private searchsorted =
    { smooth (fun r ->
          let n = r.Next(1, 6)

          let sorted =
              Array.init n (fun i -> float i - 2.0 + 0.2 * r.NextDouble()) |> Tensor.ofArray

          [| sorted; uniform r -3.0 3.0 (randomShape r 2) |], Params [| "right", Int(r.Next 2) |]) with
        ZeroDerivative = true
    }

/// last_writer: rows of update indices (negative ones too, duplicates likely) into an axis.
let private lastWriter =
    { smooth (fun r ->
          let size = r.Next(1, 5)
          let shape = Array.append (randomShape r 1) [| r.Next(1, 5) |]
          [| indices r size shape |], Params [| "size", Int size; "occurrence", Int(r.Next(-1, 3)) |]) with
        ZeroDerivative = true
    }

/// A random window geometry over 1 or 2 spatial axes (window, stride, dilation up to 2 or 3,
/// paddings up to 2) and spatial sizes that fit at least one window; leading axes up to 2.
let private windowGeometry (r: Random) =
    let rank = r.Next(1, 3)
    let window = Array.init rank (fun _ -> r.Next(1, 4))
    let strides = Array.init rank (fun _ -> r.Next(1, 3))
    let dilation = Array.init rank (fun _ -> r.Next(1, 3))
    let low = Array.init rank (fun _ -> r.Next 3)
    let high = Array.init rank (fun _ -> r.Next 3)

    let spatial =
        Array.init rank (fun a -> max 1 (dilation.[a] * (window.[a] - 1) + 1 - low.[a] - high.[a]) + r.Next 3)

    let lead = randomShape r 2
    let pars = Prim.windowParams window strides low high dilation
    let out = FunDiff.Backend.Windows.geometry spatial window strides low high dilation
    lead, spatial, pars, out.Out

/// patches: any leading axes, windows over the trailing ones.
let private patches =
    smooth (fun r ->
        let lead, spatial, pars, _ = windowGeometry r
        [| reals r (Array.append lead spatial) |], pars)

/// patches_transpose: windows (lead ++ window ++ out) of a geometry, added back into its axes.
let private patchesTranspose =
    smooth (fun r ->
        let lead, spatial, pars, out = windowGeometry r

        [| reals r (Array.concat [ lead; pars.Ints "window"; out ]) |],
        Params(Array.append pars.Entries [| "spatial", Ints spatial |]))

let private gather =
    smooth (fun r ->
        let shape = Array.init (r.Next(1, 4)) (fun _ -> r.Next(1, 4))
        let axis = r.Next shape.Length
        [| reals r shape; indices r shape.[axis] (randomShape r 2) |], Params [| "axis", Int axis |])

let private scatterAdd =
    smooth (fun r ->
        let size = r.Next(1, 4)
        let idx = randomShape r 2
        let prefix, suffix = randomShape r 1, randomShape r 1
        let axis = prefix.Length

        [| reals r (Array.concat [ prefix; idx; suffix ]); indices r size idx |],
        Params [| "axis", Int axis; "size", Int size |])

// dot_general: random batch, contracting and free axes, each operand's axes shuffled
let private dotGeneral =
    smooth (fun r ->
        let nb, nc, nlf, nrf = r.Next 2, r.Next 3, r.Next 3, r.Next 3
        let size () = r.Next(1, 4)

        let batch, contract =
            Array.init nb (fun _ -> size ()), Array.init nc (fun _ -> size ())
        // an operand: its axes are tagged (kind, index) and shuffled
        let operand (nf: int) =
            let tags =
                Array.concat
                    [
                        Array.init nb (fun i -> 0, i)
                        Array.init nc (fun i -> 1, i)
                        Array.init nf (fun i -> 2, i)
                    ]

            let tags = tags |> Array.sortBy (fun _ -> r.Next())
            let free = Array.init nf (fun _ -> size ())

            let shape =
                tags
                |> Array.map (fun (kind, i) ->
                    match kind with
                    | 0 -> batch.[i]
                    | 1 -> contract.[i]
                    | _ -> free.[i])

            let find kind i = Array.findIndex ((=) (kind, i)) tags
            shape, Array.init nb (find 0), Array.init nc (find 1)

        let ls, lb, lc = operand nlf
        let rs, rb, rc = operand nrf

        [| reals r ls; reals r rs |],
        Params
            [|
                "lhs_contracting", Ints lc
                "rhs_contracting", Ints rc
                "lhs_batch", Ints lb
                "rhs_batch", Ints rb
            |])

// rounding: values k + [0.1, 0.4] or k + [0.6, 0.9] for integers k in −3..2, away from the jumps
// of floor/ceil/trunc (integers) and of round (half-integers), where central differences fail
let private awayFromJumps (r: Random) (shape: int[]) =
    let draw () =
        float (r.Next(-3, 3))
        + (if r.Next 2 = 0 then 0.1 else 0.6)
        + 0.3 * r.NextDouble()

    Prim.ofArray (NDArray.ofData shape Float64 (Array.init (Shape.size shape) (fun _ -> draw ())))

let private rounding =
    { unaryOn awayFromJumps with
        ZeroDerivative = true
    }

/// Every built-in primitive's domain.
let domains: (Primitive * Domain) list =
    [
        negP, unaryOn reals
        addP, binaryOn reals reals
        subP, binaryOn reals reals
        mulP, binaryOn reals reals
        divP, binaryOn reals (fun r s -> signedAway r 0.5 2.0 s)
        powConstP, powConst
        sinP, unaryOn reals
        cosP, unaryOn reals
        expP, unaryOn reals
        logP, unaryOn positive
        sqrtP, unaryOn positive
        tanhP, unaryOn reals
        ltP, comparison
        leP, comparison
        gtP, comparison
        geP, comparison
        eqP, comparison
        neP, comparison
        selectNP, select
        stopGradientP,
        { unaryOn reals with
            ZeroDerivative = true
        }
        reduceSumP, reduceSum
        broadcastInDimP, broadcastInDim
        reshapeP, reshape
        transposeP, transpose
        sliceP, slice
        padP, pad
        concatenateP, concatenate
        convertElementTypeP, convert
        tanP, unaryOn (fun r s -> uniform r -1.2 1.2 s)
        asinP, unaryOn (fun r s -> uniform r -0.9 0.9 s)
        acosP, unaryOn (fun r s -> uniform r -0.9 0.9 s)
        atanP, unaryOn reals
        sinhP, unaryOn reals
        coshP, unaryOn reals
        log1pP, unaryOn (fun r s -> uniform r -0.5 2.0 s)
        expm1P, unaryOn reals
        logisticP, unaryOn (fun r s -> uniform r -4.0 4.0 s)
        softplusP, unaryOn (fun r s -> uniform r -4.0 4.0 s)
        erfP, unaryOn reals
        absP, unaryOn (fun r s -> signedAway r 0.1 2.0 s)
        signP,
        { unaryOn (fun r s -> signedAway r 0.1 2.0 s) with
            ZeroDerivative = true
        }
        powP, pow
        maxP, extremum
        minP, extremum
        atan2P, binaryOn reals (fun r s -> signedAway r 0.3 2.0 s)
        clampP, clamp
        reduceMaxP, reduceWith distinct
        reduceMinP, reduceWith distinct
        reduceProdP, reduceWith withZeros
        argmaxP, argExtreme
        argminP, argExtreme
        cumsumP, cumsum
        gatherP, gather
        argsortP, argsort
        searchsortedP, searchsorted
        lastWriterP, lastWriter
        patchesP, patches
        patchesTransposeP, patchesTranspose
        scatterAddP, scatterAdd
        dotGeneralP, dotGeneral
        floorP, rounding
        ceilP, rounding
        roundP, rounding
        truncP, rounding
        xlogyP, binaryOn reals positive
    ]

// ---- the factorizations (Linalg): stacks of small matrices, well conditioned ----------------

/// A random batch prefix: none, or one axis of size 1..2 (the kernels loop over it).
let private batchPrefix (r: Random) =
    if r.Next 2 = 0 then [||] else [| r.Next(1, 3) |]

let private matrixOf (shape: int[]) (data: float[]) =
    Prim.ofArray (NDArray.ofData shape Float64 data)

/// Random entries in [-1, 1) plus (n + 1)·I on each matrix: diagonally dominant, so far from
/// singular (conditioning a few units).
let private wellConditioned (r: Random) (batch: int[]) (n: int) =
    let m = Shape.size batch

    Array.init (m * n * n) (fun p ->
        let q = p % (n * n)
        2.0 * r.NextDouble() - 1.0 + (if q / n = q % n then float (n + 1) else 0.0))
    |> matrixOf (Array.append batch [| n; n |])

/// Random orthonormal columns (rows × cols, rows ≥ cols) per matrix: q of a random matrix's QR.
let private orthonormal (r: Random) (batch: int[]) (rows: int) (cols: int) =
    let m = Shape.size batch
    let a = Array.init (m * rows * cols) (fun _ -> 2.0 * r.NextDouble() - 1.0)

    let q, _ =
        Factor.qr (NDArray.ofData (Array.append batch [| rows; cols |]) Float64 a)

    Prim.ofArray q

/// Random values per matrix spread at least 0.8 apart in [1, 1 + ...]: distinct, so that
/// eigen/singular-vector derivatives exist and finite differences resolve them.
let private spread (r: Random) (batch: int[]) (k: int) (descending: bool) =
    let m = Shape.size batch

    Array.init (m * k) (fun p ->
        let i = p % k
        let rank = if descending then k - 1 - i else i
        1.0 + 1.2 * float rank + 0.4 * r.NextDouble())
    |> matrixOf (Array.append batch [| k |])

let private oneMatrix (draw: Random -> int[] -> int -> Tensor) =
    smooth (fun r -> [| draw r (batchPrefix r) (r.Next(1, 4)) |], Params.Empty)

let private linearSystem (pars: Random -> Params) =
    smooth (fun r ->
        let batch, n, k = batchPrefix r, r.Next(1, 4), r.Next(1, 3)

        [|
            wellConditioned r batch n
            uniform r -1.0 1.0 (Array.append batch [| n; k |])
        |],
        pars r)

let private spd =
    oneMatrix (fun r batch n ->
        let a = uniform r -1.0 1.0 (Array.append batch [| n; n |])

        Rules.Factorizations.mm a (Rules.Factorizations.mT a)
        + Rules.Factorizations.eye n * float n)

let private symmetricDistinct =
    oneMatrix (fun r batch n ->
        let q = orthonormal r batch n n
        let d = spread r batch n false
        Rules.Factorizations.mm (q * Prim.expandDims (d.Rank - 1) d) (Rules.Factorizations.mT q))

/// Tall (m ≥ n) or wide (m < n) matrices whose leading min(m, n) columns are far from
/// dependent: qr is differentiable there.
let private leadingColumnsFullRank =
    smooth (fun r ->
        let batch = batchPrefix r

        let m, n =
            if r.Next 2 = 0 then
                let n = r.Next(1, 4)
                n + r.Next 2, n
            else
                let m = r.Next(1, 4)
                m, m + r.Next(1, 3)

        let a = uniform r -1.0 1.0 (Array.append batch [| m; n |])
        let lift = Rules.Factorizations.constant m n (fun i j -> if i = j then 2.0 else 0.0)
        [| a + lift |], Params.Empty)

let private distinctSingularValues =
    smooth (fun r ->
        let batch, rows, cols = batchPrefix r, r.Next(1, 4), r.Next(1, 4)
        let k = min rows cols
        let u = orthonormal r batch rows k
        let v = orthonormal r batch cols k
        let s = spread r batch k true

        [|
            Rules.Factorizations.mm (u * Prim.expandDims (s.Rank - 1) s) (Rules.Factorizations.mT v)
        |],
        Params.Empty)

let private linalgDomains =
    [
        solveP, linearSystem (fun _ -> Params.Empty)
        triangularSolveP, linearSystem (fun r -> Rules.Factorizations.triangularParams (r.Next 2 = 0) (r.Next 2 = 0))
        invP, oneMatrix wellConditioned
        detP, oneMatrix wellConditioned
        slogdetP, oneMatrix wellConditioned
        choleskyP, spd
        eighP, symmetricDistinct
        qrP, leadingColumnsFullRank
        svdP, distinctSingularValues
    ]

/// Whether a primitive is a factorization, whose operands have structure (positive definite,
/// distinct eigenvalues) that permuting their values would break.
let isFactorization (prim: Primitive) =
    linalgDomains |> List.exists (fun (p, _) -> Object.ReferenceEquals(p, prim))

/// Another operand near `x` (entries moved by at most 0.05): the vmap laws' second example of a
/// factorization's operand, which keeps the structure its domain drew (every domain above has
/// margins far wider than that).
let perturbed (r: Random) (x: Tensor) = x + uniform r -0.05 0.05 x.Shape

/// A primitive's outputs as one tensor: the output itself, or (a multi-output primitive: slogdet,
/// qr, eigh, svd) every output flattened and concatenated, so that the laws check them all.
let applyAll (prim: Primitive) (operands: Tensor[]) (pars: Params) =
    let outs = Interpreter.Bind(prim, operands, pars)

    if outs.Length = 1 then
        outs.[0]
    else
        Prim.concatenate 0 (outs |> Array.map (fun y -> Prim.reshape [| y.Size |] y))

/// The domain of a primitive, if it has one.
let tryFind (prim: Primitive) =
    domains @ linalgDomains
    |> List.tryFind (fun (p, _) -> Object.ReferenceEquals(p, prim))
    |> Option.map snd
