/// Jacobians, Hessians and Hessian-vector products, built from one linearization.
/// A Jacobian of `f` at `x` has shape `out.shape ++ in.shape`.
module FunDiff.Transforms.Jacobian

open FunDiff
open FunDiff.Transforms.Linearize

/// Stacks per-direction results of one shape and arranges them as `out.shape ++ in.shape`.
let private assemble (outShape: int[]) (inShape: int[]) (parts: Tensor[]) (partsAlongOutput: bool) =
    let full = Array.append outShape inShape

    if parts.Length = 0 || Shape.size full = 0 then
        Prim.zeros (Aval(full, Float64))
    elif partsAlongOutput then
        // parts are rows (one per output element), each of in.shape
        Prim.reshape full (Prim.stack 0 parts)
    else
        // parts are columns (one per input element), each of out.shape
        Prim.reshape full (Prim.stack outShape.Length parts)

/// Columns: the linear program applied to each input basis direction.
let private forwardColumns (x: Tensor) (y: Tensor) (linear: Program) =
    let cols =
        Array.init x.Size (fun i -> (Program.eval linear [| Prim.basis x.Aval i |]).[0])

    assemble y.Aval.Shape x.Aval.Shape cols false

/// Rows: the transposed program applied to each output basis direction.
let private reverseRows (x: Tensor) (y: Tensor) (linear: Program) =
    let outAval = y.Aval.WithDType Float64

    let rows =
        Array.init y.Size (fun j -> (Transpose.backwardPass linear [| Prim.basis outAval j |]).[0])

    assemble y.Aval.Shape x.Aval.Shape rows true

/// Forward-mode Jacobian: one linearize, then one evaluation per input element.
let internal jacfwd (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacfwd" f x
    forwardColumns x y linear

/// Reverse-mode Jacobian: one linearize, then one transposed evaluation per output element.
let internal jacrev (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacrev" f x
    reverseRows x y linear

/// The Jacobian by the cheaper mode: forward when the input is smaller than the output.
let internal jacobian (f: Tensor -> Tensor) (x: Tensor) =
    let y, linear = linearizeProgram "jacobian" f x

    if x.Size < y.Size then
        forwardColumns x y linear
    else
        reverseRows x y linear
