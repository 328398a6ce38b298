/// dot_general on arrays: each operand viewed as a batch of (free, contracting) or
/// (contracting, free) matrices — through strides when its axes allow it, by a transposing copy
/// otherwise — and multiplied by the GEMM.
module FunDiff.Backend.DotGeneral

open System
open FunDiff
open FunDiff.Backend.Gemm

/// Whether a permutation leaves every axis in place (then transposing would only copy).
let private isIdentity (perm: int[]) =
    let mutable same = true

    for i in 0 .. perm.Length - 1 do
        if perm.[i] <> i then
            same <- false

    same

let private permute (perm: int[]) (x: NDArray) =
    if isIdentity perm then x else Layout.transpose perm x

/// The stride of a group of axes seen as one axis (the group's first axis outermost), when its
/// elements are equally spaced in row-major storage of `shape`; -1 when they are not. Axes of
/// size 1 do not matter; an empty group (or one of size-1 axes) has stride 0.
let private mergedStride (shape: int[]) (strides: int[]) (axes: int[]) =
    let mutable stride = 0
    let mutable inner = -1 // the last axis of size > 1 met, walking from the innermost
    let mutable equallySpaced = true

    for t in axes.Length - 1 .. -1 .. 0 do
        let axis = axes.[t]

        if shape.[axis] <> 1 then
            if inner < 0 then
                stride <- strides.[axis]
            elif strides.[axis] <> strides.[inner] * shape.[inner] then
                equallySpaced <- false

            inner <- axis

    if equallySpaced then stride else -1

/// x as a batch of rows×cols matrices over three groups of its axes: (array, batch stride,
/// row stride, column stride) — x itself when each group is equally spaced (e.g. a transposed
/// matrix), else a copy permuted by `perm` (= batch ++ rows ++ cols), contiguous. The array,
/// not its raw data: the caller keeps it alive while reading (BufferPool).
let private matrixView (x: NDArray) (batch: int[]) (rows: int[]) (cols: int[]) (perm: int[]) (nRows: int) (nCols: int) =
    let strides = Shape.strides x.Shape
    let sb = mergedStride x.Shape strides batch
    let sr = mergedStride x.Shape strides rows
    let sc = mergedStride x.Shape strides cols

    if sb >= 0 && sr >= 0 && sc >= 0 then
        struct (x, sb, sr, sc)
    else
        struct (permute perm x, nRows * nCols, nCols, 1)

/// The axes of a rank-`rank` operand that are neither batch nor contracting, ascending.
let private freeAxes (rank: int) (batch: int[]) (contract: int[]) =
    Shape.complementAxes rank (Array.append batch contract)

let private sizesOf (shape: int[]) (axes: int[]) = axes |> Array.map (fun a -> shape.[a])

/// JAX's lax.dot_general: contracts lhs axes `lhsContract` with rhs axes `rhsContract` pairwise
/// and pairs batch axes likewise; the result has shape (batch dims in lhsBatch's order) ++ (lhs
/// free dims) ++ (rhs free dims) and the lhs dtype; raises ArgumentException when paired sizes
/// differ. Example: `DotGeneral.apply [|1|] [|0|] [||] [||] a b` is the matrix product of a and b.
let apply
    (lhsContract: int[])
    (rhsContract: int[])
    (lhsBatch: int[])
    (rhsBatch: int[])
    (lhs: NDArray)
    (rhs: NDArray)
    : NDArray =
    let lhsShape = lhs.Shape
    let rhsShape = rhs.Shape
    let batchSizes = sizesOf lhsShape lhsBatch
    let contractSizes = sizesOf lhsShape lhsContract

    if
        lhsContract.Length <> rhsContract.Length
        || lhsBatch.Length <> rhsBatch.Length
        || not (Shape.equal batchSizes (sizesOf rhsShape rhsBatch))
        || not (Shape.equal contractSizes (sizesOf rhsShape rhsContract))
    then
        invalidArg
            "rhs"
            (sprintf
                "dotGeneral: shapes %s and %s do not pair contracting axes %A with %A and batch axes %A with %A"
                (Shape.show lhsShape)
                (Shape.show rhsShape)
                lhsContract
                rhsContract
                lhsBatch
                rhsBatch)

    let lhsFree = freeAxes lhsShape.Length lhsBatch lhsContract
    let rhsFree = freeAxes rhsShape.Length rhsBatch rhsContract
    let lhsFreeSizes = sizesOf lhsShape lhsFree
    let rhsFreeSizes = sizesOf rhsShape rhsFree
    let lhsPerm = Array.concat [ lhsBatch; lhsFree; lhsContract ]
    let rhsPerm = Array.concat [ rhsBatch; rhsContract; rhsFree ]

    if lhsPerm.Length <> lhsShape.Length then
        invalidArg
            "lhsContract"
            (sprintf "dotGeneral: batch axes %A and contracting axes %A repeat an axis" lhsBatch lhsContract)

    if rhsPerm.Length <> rhsShape.Length then
        invalidArg
            "rhsContract"
            (sprintf "dotGeneral: batch axes %A and contracting axes %A repeat an axis" rhsBatch rhsContract)

    let b = Shape.size batchSizes
    let m = Shape.size lhsFreeSizes
    let k = Shape.size contractSizes
    let n = Shape.size rhsFreeSizes
    let outShape = Array.concat [ batchSizes; lhsFreeSizes; rhsFreeSizes ]

    match hardwareKernel with
    | ValueSome kernel when b > 0 && m > 0 && k > 0 && n > 0 && gemmPays kernel m k n ->
        // the GEMM packs its operands anyway: it reads them in place when their axes allow
        let struct (lhsView, lhsB, lhsR, lhsC) =
            matrixView lhs lhsBatch lhsFree lhsContract lhsPerm m k

        let struct (rhsView, rhsB, rhsR, rhsC) =
            matrixView rhs rhsBatch rhsContract rhsFree rhsPerm k n

        let out = NDArray.alloc (b * m * n)
        // a view's window starts at its offset in the shared buffer
        gemmStrided
            kernel
            b
            m
            k
            n
            lhsView.Buffer
            lhsView.Offset
            lhsB
            lhsR
            lhsC
            rhsView.Buffer
            rhsView.Offset
            rhsB
            rhsR
            rhsC
            out

        GC.KeepAlive lhsView
        GC.KeepAlive rhsView
        NDArray(Aval(outShape, lhs.DType), out)
    | _ ->
        let lhsView = permute lhsPerm lhs
        let rhsView = permute rhsPerm rhs
        let out = NDArray.alloc (b * m * n)
        matmulBatchedAt b m k n lhsView.Buffer lhsView.Offset rhsView.Buffer rhsView.Offset out
        GC.KeepAlive lhsView
        GC.KeepAlive rhsView
        NDArray(Aval(outShape, lhs.DType), out)
