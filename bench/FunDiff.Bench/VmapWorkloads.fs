/// The workloads of the vmap issue's measurements: per-example gradients of the MLP (vmap of
/// grad against a loop of grads and against one batch gradient), Jacobians and Hessians as one
/// batched evaluation over the basis against the loop over basis directions they replaced, and
/// vmap's cost per primitive on the scalar loop. The loop-based Jacobians are written here with
/// the public API (`linearize`, `vjp`, stacking), as jacfwd/jacrev were before they used vmap.
module FunDiff.Bench.VmapWorkloads

open FunDiff
open FunDiff.Bench.Workloads

// ---- per-example gradients of the MLP -------------------------------------------------------

/// The MLP's softmax cross-entropy of one example: `x` of 784 inputs, `y` its one-hot label of
/// 10, written per example (1-d, no batch axis) as a user writes the function vmap maps.
let mlpExampleLoss (p: Mlp) (x: Tensor, y: Tensor) =
    let h = tanh (Tensor.matmul x p.W1 + p.B1)
    let logits = Tensor.matmul h p.W2 + p.B2
    -Tensor.sum(y * Tensor.logSoftmax logits)

/// Per-example gradients by vmap: one batched evaluation of the gradient over the 64 examples;
/// every leaf of the result carries the batch along axis 0 (W1: 64×784×256).
let perExampleGradsVmap (p: Mlp) (batch: Tensor * Tensor) : Mlp =
    Tree.vmap (fun example -> Tree.grad (fun p -> mlpExampleLoss p example) p) batch

/// Per-example gradients by a loop: one `Tree.grad` per example (the examples indexed out of
/// the batch), the 64 gradients returned as they come (not stacked: the loop's best case).
let perExampleGradsLoop (p: Mlp) (x: Tensor, y: Tensor) : Mlp[] =
    Array.init mlpBatch (fun i -> Tree.grad (fun p -> mlpExampleLoss p (Tensor.index i x, Tensor.index i y)) p)

// ---- Jacobians and Hessians by a loop over the basis ----------------------------------------

/// Basis direction `i` of a tensor of `shape` (one 1.0 at flat index i).
let private basis (shape: int[]) (i: int) =
    let size = Array.fold (*) 1 shape
    Tensor.reshape shape (Tensor.ofArray (Array.init size (fun k -> if k = i then 1.0 else 0.0)))

/// jacfwd as it was before vmap: one `linearize`, then the linear map applied to each input
/// basis direction in turn, the columns stacked into `out.shape ++ in.shape`.
let jacfwdLoop (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearize f x
    let columns = [ for i in 0 .. x.Size - 1 -> linear (basis x.Shape i) ]
    Tensor.reshape (Array.append y.Shape x.Shape) (Tensor.stackAxis y.Rank columns)

/// jacrev as it was before vmap: one `vjp`, then the pullback applied to each output basis
/// direction in turn, the rows stacked into `out.shape ++ in.shape`.
let jacrevLoop (f: Tensor -> Tensor) (x: Tensor) =
    let y, pullback = vjp f x
    let rows = [ for j in 0 .. y.Size - 1 -> pullback (basis y.Shape j) ]
    Tensor.reshape (Array.append y.Shape x.Shape) (Tensor.stack rows)

/// The Hessian as it was before vmap: `jacfwd (jacrev f)`, both loops.
let hessianLoop (f: Tensor -> Tensor) = jacfwdLoop (jacrevLoop f)

/// Sizes of the Hessian rows.
let hessianSizes = [ 100; 300 ]

/// Elements of the elementwise map whose Jacobian `jacrev` computes.
let elementwiseMapSize = 1000

/// An elementwise map R¹⁰⁰⁰ → R¹⁰⁰⁰ (a diagonal Jacobian that reverse mode does not know is
/// diagonal: 1000 pullbacks, or one batched over 1000 cotangents).
let elementwiseMap (x: Tensor) = Tensor.sin x * x

/// A reproducible input of the elementwise map.
let elementwiseMapInput () =
    Tensor.ofArray (Array.init elementwiseMapSize (fun i -> 0.01 * float i - 3.0))

// ---- the scalar loop under vmap -------------------------------------------------------------

/// Examples of the vmapped scalar loop.
let scalarBatch = 1000

/// The scalar loop's values of `a`, one per example, around `scalarA`.
let scalarBatchInput () =
    Tensor.ofArray (Array.init scalarBatch (fun i -> scalarA + 0.0001 * float (i - scalarBatch / 2)))

/// The scalar loop vmapped over a batch of values of `a`: 5000 primitives, each on 1000 numbers.
let scalarLoopVmap (a: Tensor) = vmap scalarLoop a

/// The scalar loop evaluated once per example (5000 primitives on one number, 1000 times),
/// the results stacked into one tensor as vmap's are.
let scalarLoopEach (examples: Tensor list) =
    Tensor.stack [ for a in examples -> scalarLoop a ]

// ---- self-check -----------------------------------------------------------------------------

/// The largest absolute difference between two tensors of one shape.
let maxAbsDiff (what: string) (a: Tensor) (b: Tensor) =
    if a.Shape <> b.Shape then
        failwithf "self-check failed: %s: shapes %A and %A differ" what a.Shape b.Shape

    Array.fold2 (fun m (u: float) v -> max m (abs (u - v))) 0.0 (Tensor.toArray a) (Tensor.toArray b)

/// Fails loudly unless `a` and `b` agree to `tol` in every element.
let agree (what: string) (tol: float) (a: Tensor) (b: Tensor) =
    let d = maxAbsDiff what a b

    if not (d < tol) then
        failwithf "self-check failed: %s: max abs difference %.3g (limit %.3g)" what d tol

    d

/// Checks each vmap workload against its loop before anything is measured (raises on a
/// disagreement): per-example gradients by vmap equal the loop's to 1e-9 (every leaf), and
/// their mean is the batch gradient; the batched Hessians equal the loop-based ones and the
/// hand-derived one; the batched jacrev of the elementwise map equals the loop-based one; the
/// vmapped scalar loop equals the per-example evaluations and the plain-float loop. Returns
/// the largest differences seen, for the report.
let selfCheck () : (string * float) list =
    let x, y = mlpData ()
    let p = mlpParams ()
    let byVmap = perExampleGradsVmap p (x, y)
    let byLoop = perExampleGradsLoop p (x, y)

    let stacked (leaf: Mlp -> Tensor) =
        Tensor.stack [ for g in byLoop -> leaf g ]

    let leaves =
        [
            "W1", (fun (g: Mlp) -> g.W1)
            "B1", (fun g -> g.B1)
            "W2", (fun g -> g.W2)
            "B2", (fun g -> g.B2)
        ]

    let perExample =
        leaves
        |> List.map (fun (name, leaf) ->
            agree (sprintf "per-example gradients, %s (vmap vs loop)" name) 1e-9 (leaf byVmap) (stacked leaf))
        |> List.max

    // the mean of the per-example gradients is the gradient of the mean loss
    let batch = Tree.grad (mlpLoss x y) p

    for name, leaf in leaves do
        agree
            (sprintf "mean of per-example gradients vs the batch gradient, %s" name)
            1e-12
            (Tensor.meanAxes [ 0 ] (leaf byVmap))
            (leaf batch)
        |> ignore

    let hessians =
        [
            for n in hessianSizes ->
                let xs = rosenbrockInput n
                let x = Tensor.ofArray xs
                let h = hessian rosenbrock x

                let d =
                    agree (sprintf "hessian rosenbrock n=%d (batched vs loop)" n) 1e-9 h (hessianLoop rosenbrock x)

                let hh = rosenbrockHessianHand xs

                let hand =
                    Tensor.reshape [| n; n |] (Tensor.ofArray (Array.init (n * n) (fun k -> hh.[k / n, k % n])))

                agree (sprintf "hessian rosenbrock n=%d (batched vs hand-derived)" n) 1e-9 h hand
                |> ignore

                sprintf "hessian n = %d" n, d
        ]

    let ex = elementwiseMapInput ()

    let jac =
        agree "jacrev of sin x * x (batched vs loop)" 1e-12 (jacrev elementwiseMap ex) (jacrevLoop elementwiseMap ex)

    // and both against jacfwd's loop (the diagonal by another route)
    agree "jacrev vs jacfwd loop, sin x * x" 1e-12 (jacrev elementwiseMap ex) (jacfwdLoop elementwiseMap ex)
    |> ignore

    let a = scalarBatchInput ()
    let examples = [ for i in 0 .. scalarBatch - 1 -> Tensor.index i a ]
    let byVmapScalar = scalarLoopVmap a

    let scalar =
        agree "scalar loop (vmap vs loop)" 1e-12 byVmapScalar (scalarLoopEach examples)

    let hand = Tensor.ofArray (Tensor.toArray a |> Array.map scalarLoopHand)

    agree "scalar loop (vmap vs plain floats)" 1e-12 byVmapScalar hand |> ignore

    [ "per-example gradients", perExample ]
    @ hessians
    @ [ "jacrev sin x * x", jac; "scalar loop", scalar ]
