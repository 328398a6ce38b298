/// Jacobians, built from one linearization and one batched evaluation (vmap) of its linear
/// map or its transpose over a basis, as JAX's jacfwd/jacrev are.
/// A Jacobian of `f` at `x` has shape `out.shape ++ in.shape`.
module FunDiff.Transforms.Jacobian

open FunDiff
open FunDiff.Transforms.Linearize

/// Rows `start .. start + count - 1` of the identity on `aval`'s elements, as a batch of
/// `count` basis tensors of `aval` (shape `count ++ aval.shape`).
let private basisBatch (aval: Aval) (start: int) (count: int) =
    let size = aval.Size
    // pooled (NDArray.full rents): a large basis is recycled across calls instead of landing
    // on the LOH each time; a fresh array owns its whole buffer, so writing it is safe
    let basis =
        Backend.NDArray.full (Aval(Array.append [| count |] aval.Shape, Float64)) 0.0

    for k in 0 .. count - 1 do
        basis.Buffer.[k * size + start + k] <- 1.0

    Prim.ofArray basis

/// `map` applied to every basis direction of `aval`, as batched evaluations of `chunk`
/// directions each (all at once for a chunk of 0 or less); the results stacked along axis 0.
let private overBasis (transform: string) (aval: Aval) (chunk: int) (map: Tensor -> Tensor) =
    let n = aval.Size
    let chunk = if chunk <= 0 then n else min chunk n

    [|
        for start in 0..chunk .. n - 1 do
            let count = min chunk (n - start)
            let directions = basisBatch aval start count

            // one direction (the pullback of a scalar function): no batch to trace
            if count = 1 then
                yield Prim.expandDims 0 (map (Prim.reshape aval.Shape directions))
            else
                yield Batching.vmapAxes transform 0 0 map directions
    |]
    |> Prim.concatenate 0

/// Columns: the linear program applied to every input basis direction in one batched
/// evaluation (or one per chunk), arranged as `out.shape ++ in.shape`.
let private forwardColumns (transform: string) (chunk: int) (x: Tensor) (y: Tensor) (linear: Program) =
    let full = Array.append y.Aval.Shape x.Aval.Shape

    if Shape.size full = 0 then
        Prim.zeros (Aval(full, Float64))
    else
        // (in elements, out.shape...): the direction axis moves last, then splits into in.shape
        let columns =
            overBasis transform x.Aval chunk (fun v -> (Program.eval linear [| v |]).[0])

        let outRank = y.Rank
        Prim.reshape full (Prim.transpose (Array.init (outRank + 1) (fun k -> (k + 1) % (outRank + 1))) columns)

/// Rows: the transposed program applied to every output basis direction in one batched
/// evaluation (or one per chunk), arranged as `out.shape ++ in.shape`.
let private reverseRows (transform: string) (chunk: int) (x: Tensor) (y: Tensor) (linear: Program) =
    let full = Array.append y.Aval.Shape x.Aval.Shape

    if Shape.size full = 0 then
        Prim.zeros (Aval(full, Float64))
    else
        let rows =
            overBasis transform (y.Aval.WithDType Float64) chunk (fun u -> (Transpose.backwardPass linear [| u |]).[0])

        Prim.reshape full rows

/// Forward-mode Jacobian: one linearize, then the linear map batched over the input basis
/// (in chunks of `chunk` directions; 0: all at once).
let internal jacfwd (chunk: int) (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacfwd" f x
    forwardColumns "jacfwd" chunk x y linear

/// Reverse-mode Jacobian: one linearize, then the pullback batched over the output basis
/// (in chunks of `chunk` directions; 0: all at once).
let internal jacrev (chunk: int) (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacrev" f x
    reverseRows "jacrev" chunk x y linear

/// The Jacobian by the cheaper mode: forward when the input is smaller than the output.
let internal jacobian (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacobian" f x

    if x.Size < y.Size then
        forwardColumns "jacobian" 0 x y linear
    else
        reverseRows "jacobian" 0 x y linear
